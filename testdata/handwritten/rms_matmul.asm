; rmsnorm, then a matmul of its output (the small code generator's rms
; entry of its matmul): rmsnorm.inc with NX, NY, N, GOFF, GSEG, GPERLAYER
; for its X, Y, N, WOFF, WSEG, PERLAYER; then matmul.inc on NY with MY,
; MWOFF, MWSEG, MPERLAYER for its Y, WOFF, WSEG, PERLAYER (ROWS, COLS, ACC
; as they are).
%include "common.inc"
%define X NX
%define Y NY
%define WOFF GOFF
%define WSEG GSEG
%define PERLAYER GPERLAYER
%include "rmsnorm.inc"
%define X NY
%define Y MY
%define WOFF MWOFF
%define WSEG MWSEG
%define PERLAYER MPERLAYER
%include "matmul.inc"
        ret
