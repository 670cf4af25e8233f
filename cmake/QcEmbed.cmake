# qc_embed_files(OUT_C name FILES f1 f2 ...): turns text files (Lua scripts,
# web pages) into a C file with one `const char qc_embed_<stem>[]` per file,
# so binaries carry them and need no data directory at run time.
function(qc_embed_files OUT_C)
  cmake_parse_arguments(E "" "" "FILES" ${ARGN})
  # ";" would split the command line: pass the list joined by ",".
  string(REPLACE ";" "," joined "${E_FILES}")
  add_custom_command(
    OUTPUT ${OUT_C}
    COMMAND ${CMAKE_COMMAND} -DOUT=${OUT_C} "-DFILES=${joined}"
            -P ${PROJECT_SOURCE_DIR}/cmake/QcEmbedRun.cmake
    DEPENDS ${E_FILES} ${PROJECT_SOURCE_DIR}/cmake/QcEmbedRun.cmake
    COMMENT "Embedding ${OUT_C}" VERBATIM)
endfunction()
