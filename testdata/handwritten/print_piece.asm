; print_piece (runtime/console.go): AX = token, BX = the previous token;
; prints the token's bytes from the piece table at PIECES (runtime.PieceData:
; dword offsets, region i = a byte k then the bytes; after BOS the first k
; are skipped) through putc at PUTC; keeps every register.
; The end is compared in 16 bits: a piece is shorter than 64 KiB.
%include "common.inc"
; Flat, the table is at 1 MiB, which segment FFFFh reaches (A20 on); its
; offsets are the segment's (runtime.Console.PieceBias), so no add.
%if FLAT
  %define SEG 0xFFFF
  %define BASE (PIECES - 0xFFFF0)
%else
  %define SEG (PIECES >> 4)
  %define BASE (PIECES & 15)
%endif
        pusha
        push ds
        push SEG
        pop ds
        imul si, ax, 4
        mov dx, [si+BASE+4]     ; the end
        mov si, [si+BASE]       ; the start
        lodsb                   ; k
        dec bx
        jnz .print
        cbw                     ; k < 128
        add si, ax
.print: cmp si, dx
        je .done
        lodsb
        call PUTC
        jmp .print
.done:  pop ds
        popa
        ret
