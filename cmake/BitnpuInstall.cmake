# cmake --install puts the libraries, headers and a package config in the
# prefix, so another project can find_package(bitnpu) and link bitnpu::calib.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(BITNPU_INSTALL_TARGETS bitnpu_arch bitnpu_sim bitnpu_calib)
foreach(role ${BITNPU_CALIB_ROLES})
  list(APPEND BITNPU_INSTALL_TARGETS bitnpu_${role})
endforeach()
if(TARGET bitnpu_systemc)
  list(APPEND BITNPU_INSTALL_TARGETS bitnpu_systemc)
endif()
install(TARGETS ${BITNPU_INSTALL_TARGETS}
        EXPORT bitnpuTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
foreach(component arch sim)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${component}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endforeach()
foreach(role ${BITNPU_CALIB_ROLES})
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/calib/${role}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endforeach()
install(EXPORT bitnpuTargets NAMESPACE bitnpu:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/bitnpu)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/bitnpuConfig.cmake.in
  ${PROJECT_BINARY_DIR}/bitnpuConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/bitnpu)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/bitnpuConfigVersion.cmake COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/bitnpuConfig.cmake ${PROJECT_BINARY_DIR}/bitnpuConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/bitnpu)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/configs/ DESTINATION ${CMAKE_INSTALL_DATADIR}/bitnpu/configs)
