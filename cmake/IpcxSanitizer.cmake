# IPCX_SANITIZER=address,undefined or thread: instruments every target of this build tree.
if(IPCX_SANITIZER)
  set(_ipcx_san_flags -fsanitize=${IPCX_SANITIZER} -fno-omit-frame-pointer -g)
  if(IPCX_SANITIZER MATCHES "undefined")
    list(APPEND _ipcx_san_flags -fno-sanitize-recover=undefined)
  endif()
  add_compile_options(${_ipcx_san_flags})
  add_link_options(-fsanitize=${IPCX_SANITIZER})
endif()
