package server

import (
	"bufio"
	"net"
	"net/http"
	"sync"
)

// batchConn lets the frames a writer sends in one go leave in one system
// call: between begin and flush, writes collect in a buffer. A websocket
// library writes every frame with its own call; on a server with a hundred
// clients those calls, not the bytes, are most of its work.
//
// Outside a batch it writes through, so control frames the reader sends
// (pongs, close replies) and the handshake go out at once.
type batchConn struct {
	net.Conn
	mu       sync.Mutex
	batching bool
	buf      []byte
}

// maxBatch is the most a batch holds before it writes through: it bounds
// the memory per client.
const maxBatch = 256 << 10

func (c *batchConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.batching && len(c.buf)+len(p) <= maxBatch {
		c.buf = append(c.buf, p...)
		return len(p), nil
	}
	if err := c.flushLocked(); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// begin starts collecting writes.
func (c *batchConn) begin() {
	c.mu.Lock()
	c.batching = true
	c.mu.Unlock()
}

// flush ends the batch and writes what it collected.
func (c *batchConn) flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.batching = false
	return c.flushLocked()
}

func (c *batchConn) flushLocked() error {
	if len(c.buf) == 0 {
		return nil
	}
	_, err := c.Conn.Write(c.buf)
	c.buf = c.buf[:0]
	return err
}

// hijacker hands the websocket library a batchConn instead of the raw
// connection.
type hijacker struct {
	http.ResponseWriter
	conn *batchConn
}

func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.conn = &batchConn{Conn: c}
	return h.conn, brw, nil
}
