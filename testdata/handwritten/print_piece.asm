; print_piece (runtime/console.go): AX = token, BX = the previous token;
; prints the token's bytes from the piece table at PIECES (runtime.PieceData:
; dword offsets from the table, region i = a byte k then the bytes; after
; BOS the first k are skipped) through putc at PUTC; keeps every register.
; The end is compared in 16 bits: a piece is shorter than 64 KiB.
%include "common.inc"
%if FLAT
        pushad
        movzx eax, ax
        mov esi, PIECES
        mov edx, [esi+eax*4+4]
        add dx, si              ; the end
        add esi, [esi+eax*4]    ; the start
        a32 lodsb               ; k
        dec bx
        jnz .print
        cbw                     ; k < 128, and eax's top half is 0
        add esi, eax
.print: cmp si, dx
        je .done
        a32 lodsb
        call PUTC
        jmp .print
.done:  popad
%else
%define BASE (PIECES & 15)
        pusha
        push ds
        push PIECES >> 4
        pop ds
        imul si, ax, 4
        mov dx, [si+BASE+4]     ; the end
        mov si, [si+BASE]       ; the start
  %if BASE
        add si, BASE
        add dx, BASE
  %endif
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
%endif
        ret
