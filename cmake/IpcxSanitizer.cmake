# IPCX_SANITIZER=address,undefined or thread: instruments every target of this build tree.
if(IPCX_SANITIZER)
  set(_ipcx_san_flags -fsanitize=${IPCX_SANITIZER} -fno-omit-frame-pointer -g)
  if(IPCX_SANITIZER MATCHES "undefined")
    list(APPEND _ipcx_san_flags -fno-sanitize-recover=undefined)
  endif()
  # The shm rings order their doorbell flags with seq_cst fences, which TSan does not model
  # (g++ says so once per fence). Their peer is another process TSan cannot see anyway; the
  # in-process ordering it checks is unaffected.
  if(IPCX_SANITIZER MATCHES "thread" AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    list(APPEND _ipcx_san_flags -Wno-tsan)
  endif()
  add_compile_options(${_ipcx_san_flags})
  add_link_options(-fsanitize=${IPCX_SANITIZER})
endif()
