# ktstats_gzip_file(TARGET SOURCE OUTPUT): OUTPUT is SOURCE compressed with
# gzip -9n (best compression, no name or time stamp: reproducible), as
# Debian wants man pages and changelogs installed; built with the default
# target.
function(ktstats_gzip_file target source output)
  add_custom_command(OUTPUT ${output}
    COMMAND sh -c "gzip -9nc \"$0\" >\"$1\"" ${source} ${output}
    DEPENDS ${source}
    COMMENT "Compressing ${source}"
    VERBATIM)
  add_custom_target(${target} ALL DEPENDS ${output})
endfunction()
