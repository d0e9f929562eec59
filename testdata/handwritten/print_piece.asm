; print_piece (runtime/console.go): AX = token, BX = the previous token;
; prints the token's bytes from the piece table at PIECES
; (runtime.Console.PieceTable: word offsets, entry 2i after a token other
; than BOS and 2i+1 after BOS, each string ending in a NUL) through putc
; at PUTC; keeps every register.
%include "common.inc"
; Flat, the table is at 1 MiB, which segment FFFFh reaches (A20 on); its
; offsets are the segment's (the table's bias), so no add.
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
        dec bx
        jnz .entry
        lodsw                   ; on to the entry after BOS
.entry: mov si, [si+BASE]
.print: lodsb
        test al, al
        jz .done
        call PUTC
        jmp .print
.done:  pop ds
        popa
        ret
