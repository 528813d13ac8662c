# install() rules, the CMake package config (find_package(ipcx CONFIG)) and ipcx.pc.
include(CMakePackageConfigHelpers)

install(TARGETS ipcx EXPORT ipcxTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/ipcx DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT ipcxTargets NAMESPACE ipcx:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ipcx)

configure_package_config_file(cmake/ipcxConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/ipcxConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ipcx)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/ipcxConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/ipcxConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/ipcxConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ipcx)

# A static libipcx.a needs libsodium at every consumer's link; a shared one carries it itself.
if(BUILD_SHARED_LIBS)
  set(IPCX_PC_SODIUM Requires.private)
else()
  set(IPCX_PC_SODIUM Requires)
endif()
configure_file(cmake/ipcx.pc.in ${CMAKE_CURRENT_BINARY_DIR}/ipcx.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/ipcx.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
