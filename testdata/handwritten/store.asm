; store (Sim.store): quantize k (at K) and v (at V), HEADS heads of HD
; values each, into this position's cache record (REC bytes at KOFF +
; pos·REC in this layer's cache: per head its shift byte, then its HD
; values of QB bytes; the keys' heads, then the values'). Per head: m the
; largest |x|, s the smallest shift with rshr(m, s) <= qmax, q = rshr(x, s).
%include "common.inc"
%define QMAX (1 << (8*QB-1)) - 1
%if FLAT
        movzx edi, word [POS]
        imul edi, edi, REC
        add edi, [LAYERC]
  %if KOFF
        add edi, KOFF
  %endif
%else
        push gs                 ; ES = the cache for stos
        pop es
        imul di, [POS], REC
  %if KOFF
        add di, KOFF
  %endif
%endif
        mov si, K
%if V != K + 4*HEADS*HD
  %error "store.asm: v must follow k (a fused q+k+v)"
%endif
        mov bp, 2*HEADS         ; the heads of k, then those of v
.head:  push si
        xor ebx, ebx            ; m
        mov cx, HD
.max:   lodsd
        cdq
        xor eax, edx
        sub eax, edx            ; |x| (2^31 for -2^31, unsigned)
        cmp eax, ebx
        jbe .keep
        xchg eax, ebx
.keep:  loop .max
        pop si                  ; cx = 0
        clc
.shift: mov eax, ebx
        shr eax, cl
        adc eax, 0              ; rshr(m, s): CF is 0 for s = 0
        cmp eax, QMAX
        jbe .found
        inc cx
        jmp .shift
.found: mov al, cl
        C stosb
        mov ch, HD
        clc
.quant: lodsd
        cdq
        shrd eax, edx, cl       ; for s = 0 CF stays 0
        adc eax, 0
%if QB == 1
        C stosb
%else
        C stosw
%endif
        dec ch
        jnz .quant
        dec bp
        jnz .head
%if !FLAT
        push ds
        pop es
%endif
        ret
