; attention (Sim.attention) over this layer's cache, positions 0..pos:
; HEADS query heads of HD values at Q, kv head h/GROUP; per position a
; record of REC bytes at KOFF + t·REC in the layer's cache (per kv head a
; shift byte then HD values of QB bytes: the keys' heads, then at VOFF the
; values'). Per head: scores (rshr(rshr(dot << shift, 16)·SCALE, 30)) into
; ATT and their maximum; then per position e = exp(best - score) from the
; table at TAB, their sum, and acc_i += (e·v_i) << shift in ACCB (64-bit);
; then OUT_i = acc_i / sum rounded half away from zero.
%include "common.inc"
%define QP    SCRATCH            ; word: this head's query
%define KV    SCRATCH+4          ; this kv head's record part at t = 0
%define BEST  SCRATCH+8
%define SUM   SCRATCH+12
%define ENDP  SCRATCH+16         ; word: ATT + 4·(pos+1)
%define HB    (1+HD*QB)          ; a head's bytes in a record
%if FLAT
  %define P ebx                  ; the cache pointer
  %define G
%else
  %define P bx
  %define G gs:
%endif
%macro inc_p 1
  %rep %1
        inc P
  %endrep
%endmacro
%if (4*HD*GROUP) & (4*HD*GROUP-1)
  %error "attention.asm: 4·HD·GROUP must be a power of two"
%endif
%assign lg 0
%rep 16
  %if (1 << lg) < 4*HD*GROUP
    %assign lg lg+1
  %endif
%endrep

        mov ax, [POS]
        shl ax, 2
        add ax, ATT+4
        mov [ENDP], ax
        mov word [QP], Q
        mov di, OUT
.head:  push di                 ; this head's output
        mov ax, [QP]
        sub ax, Q
        shr ax, lg              ; the kv head
%if FLAT
        movzx eax, ax
        imul ebx, eax, HB
        add ebx, [LAYERC]
%else
        imul bx, ax, HB
%endif
%if KOFF
        add P, KOFF
%endif
        mov [KV], P

        ; Scores and their maximum.
        mov di, ATT
        mov dword [BEST], 0x80000000
.t1:    push di
        mov si, [QP]
        xor ebp, ebp
        xor di, di              ; dot in di:ebp (48 bits, what is used)
        mov cl, [G P]
        inc_p 1
        mov ch, HD
.dot:   lodsd
%if QB == 1
        movsx edx, byte [G P]
%else
        movsx edx, word [G P]
%endif
        inc_p QB
        imul edx
        add ebp, eax
        adc di, dx
        dec ch
        jnz .dot
        add P, REC-HB
        shld edi, ebp, cl
        shl ebp, cl
        shrd ebp, edi, 16
        adc ebp, 0              ; rshr(dot << shift, 16)
        mov eax, SCALE
        imul ebp
        rshr 30
        pop di
        stosd
        cmp eax, [BEST]
        jle .nomax
        mov [BEST], eax
.nomax: cmp di, [ENDP]
        jb .t1
        mov [QP], si            ; the next head's query

        ; e = exp(best - score), their sum, and the weighted values.
        mov di, ACCB
        mov cx, 2*HD
        xor eax, eax
        rep stosd
        mov [SUM], eax
        mov P, [KV]
        add P, VOFF
        mov si, ATT
.t2:    lodsd
        neg eax
        add eax, [BEST]         ; d = best - score >= 0
        xor ebp, ebp            ; e = 0
        cmp eax, 16<<16
        jae .zero
        shld edi, eax, 32-11    ; di = j = d >> 11
        shl di, 2
        shl eax, 32-11          ; f << 21
        mov edx, [di+TAB]
        mov ebp, edx
        sub edx, [di+TAB+4]     ; m = T[j] - T[j+1] >= 0: exp falls
        mul edx                 ; m·f << 21
        add eax, 1023 << 21     ; rshr(-m·f, 11) = -((m·f + 1023) >> 11)
        sbb ebp, edx            ; e = T[j] + rshr(-m·f, 11)
.zero:  add [SUM], ebp
        mov cl, [G P]
        inc_p 1
        mov di, ACCB
        mov ch, HD
.acc:
%if QB == 1
        movsx eax, byte [G P]
%else
        movsx eax, word [G P]
%endif
        inc_p QB
        imul ebp
        shld edx, eax, cl
        shl eax, cl
        add [di], eax
        adc [di+4], edx
        add di, 8
        dec ch
        jnz .acc
        add P, REC-HB
        cmp si, [ENDP]
        jb .t2

        ; out = acc / sum, halves away from zero.
        mov si, ACCB
        pop di
        mov ebx, [SUM]
        mov ebp, ebx
        shr ebp, 1
        mov cx, HD
.div:   lodsd
        xchg eax, edx
        lodsd
        xchg eax, edx
        test edx, edx
        pushf
        jns .pos
        neg edx
        neg eax
        sbb edx, 0
.pos:   add eax, ebp
        adc edx, 0
        div ebx
        popf
        jns .store
        neg eax
.store: stosd
        loop .div
        cmp di, OUT+4*HD*HEADS
        jb .head
        ret
