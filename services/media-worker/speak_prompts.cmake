# speak_prompts(<body variable> "<name>|<text>" ...): each text spoken by
# espeak-ng (English, 150 words a minute) into <name>.wav under ${WORK},
# then embedded as G.711 arrays appended to the body (embed_g711.cmake).
# Shared by the built-in prompt sets (conf_prompts.cmake,
# vm_access_prompts.cmake); ESPEAK and WORK come from their -D options.
include(${CMAKE_CURRENT_LIST_DIR}/embed_g711.cmake)
function(speak_prompts out)
  set(body "${${out}}")
  foreach(item ${ARGN})
    string(REPLACE "|" ";" parts "${item}")
    list(GET parts 0 name)
    list(GET parts 1 text)
    execute_process(COMMAND ${ESPEAK} -v en -s 150 -w ${WORK}/${name}.wav
                    "${text}" RESULT_VARIABLE rc)
    if(rc)
      message(FATAL_ERROR "espeak-ng: cannot speak ${name} (${rc})")
    endif()
    embed_g711(${name} ${WORK}/${name}.wav ${WORK} body)
  endforeach()
  set(${out} "${body}" PARENT_SCOPE)
endfunction()
