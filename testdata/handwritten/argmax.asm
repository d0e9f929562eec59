; argmax: the index of the first largest of N logits at X, in AX (for the
; generation loop). Backwards, keeping the later of equals: the first one
; wins.
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
        xchg ax, bx
        dec ax
        ret
