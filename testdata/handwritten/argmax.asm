; argmax: the index of the first largest of N logits at X, into the word
; at NEXT. Backwards, keeping the later of equals: the first one wins.
%include "common.inc"
        std
        mov si, X+4*(N-1)
        mov cx, N
        mov edx, [si]           ; a start that the first compare keeps
.next:  lodsd
        cmp eax, edx
        jl .less
        xchg eax, edx
        mov bx, cx              ; index + 1
.less:  loop .next
        cld
        dec bx
        mov [NEXT], bx
        ret
