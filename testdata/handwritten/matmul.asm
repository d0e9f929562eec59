; matmul: Y = W·X for ROWS rows of COLS weights of WBITS, each row its
; multiplier m then its weights, from WOFF in this layer's weights
; (PERLAYER: FS, or the linear address at LAYERW) or at WSEG:WOFF (flat:
; WOFF). Per row acc = Σ w·x in 48 bits (ebp, bx: what t needs),
; t = rshr(acc, 16), y = rshr(t·m, B), stored or with ACC added to Y.
%include "common.inc"
%if FLAT
  %if PERLAYER
        mov esi, [LAYERW]
    %if WOFF
        add esi, WOFF
    %endif
  %else
        mov esi, WOFF
  %endif
%else
  %if !PERLAYER
        push WSEG
        pop fs
  %endif
        mov si, WOFF
%endif
        push Y
.row:   W lodsd
        push eax                ; m
        mov di, X
        mov ebp, 1<<15          ; acc = 2^15: t = acc >> 16 rounds
        xor bx, bx
        mov cx, COLS
.col:
%if WBITS == 8
        W lodsb
        cbw
%else
        W lodsw
%endif
        cwde
        imul dword [di]
        scasd                   ; di += 4
        add ebp, eax
        adc bx, dx
        loop .col
        shrd ebp, ebx, 16       ; t
        pop eax
        imul ebp
        rshr B
        pop di
%if ACC
        add eax, [di]
%endif
        stosd
        push di
        cmp di, Y+4*ROWS
        jb .row
        pop di
        ret
