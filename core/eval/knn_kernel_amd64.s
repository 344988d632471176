//go:build !purego

#include "textflag.h"

// func micro6x16(d int, q *float32, ldq int, panel *float32, out *float32, ldo int)
//
// out[i*ldo+j] = Σ_{l<d} q[i*ldq+l] · panel[l*16+j] for i < 6, j < 16.
TEXT ·micro6x16(SB), NOSPLIT, $0-48
	MOVQ d+0(FP), CX
	MOVQ q+8(FP), R8
	MOVQ ldq+16(FP), R9
	MOVQ panel+24(FP), BX
	MOVQ out+32(FP), DI
	MOVQ ldo+40(FP), R12

	SHLQ $2, R9            // query row stride in bytes
	LEAQ (R9)(R9*2), R10   // three rows
	LEAQ (R8)(R9*4), R11   // row 4

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

	TESTQ CX, CX
	JLE   store

loop:
	VMOVUPS      (BX), Y12
	VMOVUPS      32(BX), Y13
	VBROADCASTSS (R8), Y14
	VFMADD231PS  Y12, Y14, Y0
	VFMADD231PS  Y13, Y14, Y1
	VBROADCASTSS (R8)(R9*1), Y15
	VFMADD231PS  Y12, Y15, Y2
	VFMADD231PS  Y13, Y15, Y3
	VBROADCASTSS (R8)(R9*2), Y14
	VFMADD231PS  Y12, Y14, Y4
	VFMADD231PS  Y13, Y14, Y5
	VBROADCASTSS (R8)(R10*1), Y15
	VFMADD231PS  Y12, Y15, Y6
	VFMADD231PS  Y13, Y15, Y7
	VBROADCASTSS (R11), Y14
	VFMADD231PS  Y12, Y14, Y8
	VFMADD231PS  Y13, Y14, Y9
	VBROADCASTSS (R11)(R9*1), Y15
	VFMADD231PS  Y12, Y15, Y10
	VFMADD231PS  Y13, Y15, Y11
	ADDQ         $64, BX
	ADDQ         $4, R8
	ADDQ         $4, R11
	DECQ         CX
	JNZ          loop

store:
	SHLQ    $2, R12        // output row stride in bytes
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ    R12, DI
	VMOVUPS Y2, (DI)
	VMOVUPS Y3, 32(DI)
	ADDQ    R12, DI
	VMOVUPS Y4, (DI)
	VMOVUPS Y5, 32(DI)
	ADDQ    R12, DI
	VMOVUPS Y6, (DI)
	VMOVUPS Y7, 32(DI)
	ADDQ    R12, DI
	VMOVUPS Y8, (DI)
	VMOVUPS Y9, 32(DI)
	ADDQ    R12, DI
	VMOVUPS Y10, (DI)
	VMOVUPS Y11, 32(DI)
	VZEROUPPER
	RET

// func firstAbove8(x *float32, n int, thr float32) int
//
// Returns the index of the first block of eight values x[8b:8b+8] holding a
// value > thr (ordered: NaN never is) plus the index of that value, or n if
// there is none. n must be a multiple of 8.
TEXT ·firstAbove8(SB), NOSPLIT, $0-32
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS thr+16(FP), Y1
	XORQ         AX, AX

scan:
	CMPQ      AX, CX
	JGE       none
	VMOVUPS   (SI)(AX*4), Y0
	VCMPPS    $0x1e, Y1, Y0, Y2 // GT_OQ: Y2 = Y0 > Y1
	VMOVMSKPS Y2, DX
	TESTL     DX, DX
	JNZ       found
	ADDQ      $8, AX
	JMP       scan

found:
	BSFL DX, DX
	ADDQ DX, AX
	MOVQ AX, ret+24(FP)
	VZEROUPPER
	RET

none:
	MOVQ CX, ret+24(FP)
	VZEROUPPER
	RET
