; mul: Y[i] = rshr(A[i]·B[i], 16) for N elements.
%include "common.inc"
        mov si, A
%if Y == A
        mov di, si              ; in place
%else
        mov di, Y
%endif
        mov cx, N
.next:  lodsd
        imul dword [si+B-A-4]
        rshr 16
        stosd
        loop .next
        ret
