" tfc transformer descriptions: *.tf files whose first declaration is
" `model NAME` (Vim's own detection takes *.tf for Terraform or TinyFugue;
" this runs after it and wins for tfc's files only).
autocmd BufRead,BufNewFile *.tf call s:TfcDetect()

function! s:TfcDetect() abort
  for l:line in getline(1, 50)
    if l:line =~# '^\s*\%(#.*\|//.*\)\=$'
      continue
    endif
    if l:line =~# '^\s*model\>'
      set filetype=tfc
    endif
    return
  endfor
endfunction
