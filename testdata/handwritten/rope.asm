; rope, in place over NPAIRS pairs from X (several ropes over adjacent
; vars at once), head size D: per pair (a, b), j its index in the head,
; c and s the cosine and sine of j in the table row of pos (at TAB + pos·4D:
; D/2 cosines, then D/2 sines, Q1.30): a' = rshr(a·c - b·s, 30),
; b' = rshr(a·s + b·c, 30). rot computes rshr(u·c + v·s, 30).
%include "common.inc"
%if (D & (D-1)) || X != Y
  %error "rope.asm: in place, head sizes a power of two"
%endif
        mov si, X
.pair:  imul bx, [POS], 4*D     ; the table row
        lea ax, [si-X]
        and ax, 4*D-1           ; 8j
        shr ax, 1
        add bx, ax              ; c at [bx+TAB], s at [bx+TAB+2D]
        mov eax, [si]           ; u = a
        mov ecx, [si+4]
        neg ecx                 ; v = -b
        call .rot
        push eax                ; a'
        mov eax, [si+4]         ; u = b
        mov ecx, [si]           ; v = a
        call .rot
        mov [si+4], eax
        pop dword [si]
        add si, 8
        cmp si, X+8*NPAIRS
        jb .pair
        ret
.rot:   imul dword [bx+TAB]
        xchg eax, ecx           ; v, and u·c's low half in ecx
        mov edi, edx
        imul dword [bx+TAB+2*D]
        add eax, ecx
        adc edx, edi
        rshr 30
        ret
