//go:build amd64 && !purego

#include "textflag.h"

// func addChain(n int)
// n iterations of 100 dependent one-cycle additions: n·100 cycles.
TEXT ·addChain(SB), NOSPLIT, $0-8
	MOVQ n+0(FP), CX
	XORQ AX, AX
loop:
#define ADD10 ADDQ $1, AX; ADDQ $1, AX; ADDQ $1, AX; ADDQ $1, AX; ADDQ $1, AX; ADDQ $1, AX; ADDQ $1, AX; ADDQ $1, AX; ADDQ $1, AX; ADDQ $1, AX
	ADD10
	ADD10
	ADD10
	ADD10
	ADD10
	ADD10
	ADD10
	ADD10
	ADD10
	ADD10
	DECQ CX
	JNZ loop
	RET
