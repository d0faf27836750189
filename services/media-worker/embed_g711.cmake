# embed_g711(<name> <wav> <work dir> <body var>): appends to <body var>
# the C arrays <name>_ulaw / <name>_alaw (raw 8 kHz G.711 of <wav>, with
# sox) and their lengths <name>_ulaw_len / <name>_alaw_len. Shared by the
# build-time audio scripts (moh.cmake, vm_greeting.cmake); needs SOX.
function(embed_g711 name wav work outvar)
  set(out "${${outvar}}")
  foreach(law ulaw alaw)
    if(law STREQUAL ulaw)
      set(enc u-law)
    else()
      set(enc a-law)
    endif()
    execute_process(COMMAND ${SOX} ${wav} -r 8000 -c 1 -e ${enc} -t raw
                    ${work}/${name}.${law} gain -n -12 RESULT_VARIABLE rc)
    if(rc)
      message(FATAL_ERROR "sox: cannot encode ${wav} (${rc})")
    endif()
    file(READ ${work}/${name}.${law} hex HEX)
    string(LENGTH "${hex}" n)
    math(EXPR n "${n} / 2")
    string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
    string(REGEX REPLACE "((0x..,){16})" "\\1\n" hex "${hex}")
    string(APPEND out "const unsigned char ${name}_${law}[] = {\n${hex}};\nconst size_t ${name}_${law}_len = ${n};\n")
  endforeach()
  set(${outvar} "${out}" PARENT_SCOPE)
endfunction()
