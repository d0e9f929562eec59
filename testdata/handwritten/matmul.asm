; matmul as a kernel of its own: see matmul.inc.
%include "common.inc"
%include "matmul.inc"
        ret
