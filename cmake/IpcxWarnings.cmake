# Warning flags every ipcx target carries; the build must stay clean under them.
add_library(ipcx_warnings INTERFACE)
target_compile_options(ipcx_warnings INTERFACE -Wall -Wextra -Wpedantic)
