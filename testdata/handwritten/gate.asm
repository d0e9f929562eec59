; gate (silu, gelu): Y[i] = rshr(x·g(x), 30) for N elements x at X, g
; interpolated in the table at TAB over [-16, 16) (ir.GateLookup); below
; it y = 0, at or above its end y = x. With MUL, the gated FFN's product
; follows in the same loop: Y[i] = rshr(y·O[i], 16).
%include "common.inc"
        mov si, X
        mov di, Y
        mov cx, N
.next:  lodsd
        mov ebp, eax            ; x
        add eax, 16<<16         ; u = x + 16, in range when u < 32 (unsigned)
        cmp eax, 32<<16
        jb .table
        xchg eax, ebp           ; out of the table: max(x, 0)
        cdq
        not edx
        and eax, edx
        jmp .store
.table: rol eax, 32-11          ; f << 21 | j (u < 2^21: nothing between)
        imul bx, ax, 4          ; the table slot of j
        xor ax, ax              ; f << 21
        mov edx, [bx+TAB+4]
        sub edx, [bx+TAB]
        mul edx                 ; (T[j+1]-T[j])·f << 21 (both >= 0: g rises)
        add eax, eax            ; CF = the rounding bit of rshr(·, 11)
        adc edx, [bx+TAB]       ; g = T[j] + rshr((T[j+1]-T[j])·f, 11)
        xchg eax, edx
        imul ebp
        rshr 30
.store:
%if MUL
        imul dword [si+O-X-4]
        rshr 16
%endif
        stosd
        loop .next
        ret
