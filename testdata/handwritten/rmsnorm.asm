; rmsnorm (ir.RMSInv, Sim's RMSNorm): ss = Σ x² over N elements at X;
; r = isqrt(ss/N + eps); inv = (2^38 + r/2)/r; Y[i] = rshr(rshr(x·inv,
; 22)·g, 16) with g (Q16.16) at WOFF in this layer's weights (PERLAYER) or
; at WSEG:WOFF (flat: WOFF).
%include "common.inc"
        mov si, X
        push si
        mov cx, N
        xor ebp, ebp
        xor edi, edi
.ss:    lodsd
        imul eax
        add ebp, eax
        adc edi, edx            ; ss in edi:ebp
        loop .ss
%assign log 0
%rep 16
  %if (1 << log) < N
    %assign log log+1
  %endif
%endrep
%if (1 << log) == N
        shrd ebp, edi, log      ; ss/N
        shr edi, log
%else
        xchg eax, edi
        xor edx, edx
        mov ecx, N
        div ecx
        xchg eax, ebp           ; ebp = high quotient, eax = low ss
        div ecx
        mov edi, ebp
        xchg eax, ebp           ; ss/N in edi:ebp
%endif
        add ebp, 42950+1        ; v + 1: t² <= v when t² - (v+1) borrows
        adc edi, 0
        xor esi, esi            ; r
        mov ecx, 1<<31
.bit:   lea eax, [esi+ecx]
        mul eax
        sub eax, ebp
        sbb edx, edi
        jnc .skip
        add esi, ecx
.skip:  shr ecx, 1
        jnz .bit
        mov eax, esi
        shr eax, 1
        cdq
        mov dl, 1<<(38-32)
        div esi
        xchg eax, ebp           ; inv
%if FLAT
  %if PERLAYER
        mov ebx, [LAYERW]
    %if WOFF
        add ebx, WOFF
    %endif
  %else
        mov ebx, WOFF
  %endif
%else
  %if !PERLAYER
        push WSEG
        pop fs
  %endif
        mov bx, WOFF
%endif
        pop si
        mov di, Y
        mov cx, N
.out:   lodsd
        imul ebp
        rshr 22
%if FLAT
        imul dword [ebx]
        add ebx, 4
%else
        imul dword [fs:bx]
        add bx, 4
%endif
        rshr 16
        stosd
        loop .out
        ret
