# speak_prompts(<body variable> "<name>|<text>" ...): each text spoken by
# espeak-ng (150 words a minute) into <prefix><name>.wav under ${WORK},
# then embedded as G.711 arrays named <prefix><name>_ulaw/_alaw appended to
# the body (embed_g711.cmake). Shared by the built-in prompt sets
# (conf_prompts.cmake, vm_access_prompts.cmake, queue_prompts.cmake);
# ESPEAK and WORK come from their -D options. Set before the call:
# SPEAK_LANG (espeak voice, default en), SPEAK_PREFIX (default none) and
# SPEAK_TRIM (with SOX: each word's leading and trailing silence cut and
# 80 ms of pause after it, for words joined into one announcement).
# Each prompt also gets a row of a struct sys_sound table (sys_sounds.h:
# lang, name, the arrays) appended to <body variable>_rows.
#
# speak_sound_set(<body variable> <table> "<lang>:<item list variable>"...):
# every list spoken in its language (prefix <lang>_), then the table
# `const struct sys_sound <table>[]` and `<table>_n` appended to the body.
include(${CMAKE_CURRENT_LIST_DIR}/embed_g711.cmake)
function(speak_prompts out)
  set(body "${${out}}")
  set(rows "")
  set(lang en)
  if(SPEAK_LANG)
    set(lang ${SPEAK_LANG})
  endif()
  foreach(item ${ARGN})
    string(REPLACE "|" ";" parts "${item}")
    list(GET parts 0 name)
    list(GET parts 1 text)
    set(id ${SPEAK_PREFIX}${name})
    set(wav ${WORK}/${id}.wav)
    if(SPEAK_TRIM)
      set(wav ${WORK}/${id}.raw.wav)
    endif()
    execute_process(COMMAND ${ESPEAK} -v ${lang} -s 150 -w ${wav}
                    "${text}" RESULT_VARIABLE rc)
    if(rc)
      message(FATAL_ERROR "espeak-ng: cannot speak ${id} (${rc})")
    endif()
    if(SPEAK_TRIM)
      execute_process(COMMAND ${SOX} ${wav} ${WORK}/${id}.wav
                      silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse
                      pad 0 0.08 RESULT_VARIABLE rc)
      if(rc)
        message(FATAL_ERROR "sox: cannot trim ${id} (${rc})")
      endif()
    endif()
    embed_g711(${id} ${WORK}/${id}.wav ${WORK} body)
    string(APPEND rows "  {\"${lang}\", \"${name}\", ${id}_ulaw, &${id}_ulaw_len, ${id}_alaw, &${id}_alaw_len},\n")
  endforeach()
  set(${out} "${body}" PARENT_SCOPE)
  set(${out}_rows "${${out}_rows}${rows}" PARENT_SCOPE)
endfunction()

function(speak_sound_set out table)
  set(body "${${out}}")
  set(body_rows "")
  foreach(s ${ARGN})
    string(REPLACE ":" ";" parts "${s}")
    list(GET parts 0 SPEAK_LANG)
    list(GET parts 1 var)
    set(SPEAK_PREFIX ${SPEAK_LANG}_)
    speak_prompts(body ${${var}})
  endforeach()
  string(REGEX MATCHALL "\n" lines "${body_rows}")
  list(LENGTH lines n)
  string(APPEND body "const struct sys_sound ${table}[] = {\n${body_rows}};\nconst size_t ${table}_n = ${n};\n")
  set(${out} "${body}" PARENT_SCOPE)
endfunction()
