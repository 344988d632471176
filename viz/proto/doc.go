// Package proto is the wire format between the byol-lab server and its
// browser client: JSON text frames for control and small messages, binary
// frames for point clouds, both over one websocket at [WSPath].
//
// The package is shared by the server and the WebAssembly client, so it
// imports only the standard library and builds for every GOOS/GOARCH,
// js/wasm included. It holds no state and does no I/O: it turns bytes into
// validated values and back. Everything a decoder accepts satisfies the same
// checks the matching encoder applies, so a value that decodes can be
// re-encoded, and the server never acts on a command it could not have sent
// itself.
//
// Server → client, JSON ([Encode], [Decode]): [Hello], [Metrics], [Event],
// [Runs], [Reply]. Server → client, binary ([Snapshot.AppendBinary],
// [DecodeSnapshot]): one frame per point-cloud snapshot of one run.
// Client → server, JSON ([EncodeCommand], [DecodeCommand]): [Command].
// Beside the websocket, plain HTTP: the probe images as PNGs at
// [ProbeImagePath] ([Hello.Probe] names the set).
//
// README.md in this directory documents the protocol for client authors.
package proto

// Version is the protocol version. It is sent in [Hello] and in every
// snapshot frame; decoders reject any other version with a [*VersionError].
// Any change a version-1 decoder would reject or misread bumps it.
const Version = 1

// WSPath is the HTTP path of the websocket endpoint.
const WSPath = "/ws"

// Limits. They bound what a decoder will allocate or accept, so hostile
// input cannot make either side allocate more than a small multiple of them.
const (
	// MaxMessageSize is the largest client → server message, in bytes.
	// The server should also set it as its websocket read limit.
	MaxMessageSize = 64 << 10

	// MaxServerMessageSize is the largest server → client message (JSON or
	// binary), in bytes; clients should use it as their read limit. Encode
	// refuses larger messages; the other limits keep every valid message
	// (a Hello with MaxPoints probe images, MaxLabelSets label sets and
	// MaxRuns runs, the largest snapshot) well below it.
	MaxServerMessageSize = 8 << 20

	// MaxIDLen is the longest run id, preset name or label-set name, in
	// bytes (ids are ASCII, see the README).
	MaxIDLen = 64
	// MaxNameLen is the longest display name (run name, class name, server
	// name, arch, dataset), in runes.
	MaxNameLen = 64
	// MaxTokenLen is the longest teacher token, in bytes.
	MaxTokenLen = 128
	// MaxTextLen is the longest free text (event message, reply error), in
	// bytes.
	MaxTextLen = 4096

	// MaxCommandID is the largest command id: 2^53-1, the largest integer a
	// JavaScript number holds exactly, so ids survive any JSON library.
	MaxCommandID = 1<<53 - 1

	// MaxPoints is the largest number of points in a snapshot and the
	// largest probe set.
	MaxPoints = 65536
	// MaxDim is the largest projection dimension d, and so the longest
	// spectrum and std vector in a snapshot.
	MaxDim = 4096
	// MaxLabelSets and MaxClasses bound the label sets in a Hello.
	MaxLabelSets = 8
	MaxClasses   = 256
	// MaxRuns bounds the run list in a Hello or Runs message, MaxPresets the
	// preset list.
	MaxRuns    = 64
	MaxPresets = 64
	// MaxConfigLen bounds RunInfo.Config, in bytes.
	MaxConfigLen = 8 << 10
)
