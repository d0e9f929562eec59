; rmsnorm as a kernel of its own: see rmsnorm.inc.
%include "common.inc"
%include "rmsnorm.inc"
        ret
