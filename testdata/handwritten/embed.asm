; embed: row TOK of the table (its multiplier m, then COLS weights of WBITS)
; at WSEG:WOFF (segmented) or WOFF (flat): Y[j] = rshr(w_j·m, B).
%include "common.inc"
%if FLAT
        movzx esi, word [TOK]
        imul esi, esi, ROWBYTES
        add esi, WOFF
%else
        push WSEG
        pop fs
        imul si, [TOK], ROWBYTES
  %if WOFF
        add si, WOFF
  %endif
%endif
        W lodsd
        xchg eax, ebp           ; m
        mov di, Y
        mov cx, COLS
.next:
%if WBITS == 8
        W lodsb
        cbw
%else
        W lodsw
%endif
        cwde
        imul ebp
        rshr B
        stosd
        loop .next
        ret
