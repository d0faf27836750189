# Turns a Lua file into a C string: cmake -DIN=<file.lua> -DOUT=<file.c>
# -DNAME=<symbol> -P embed_lua.cmake. The script stays readable in its own
# file and is sent to Redis exactly as written.
file(READ ${IN} text)
string(REPLACE "\\" "\\\\" text "${text}")
string(REPLACE "\"" "\\\"" text "${text}")
string(REPLACE "\n" "\\n\"\n\"" text "${text}")
file(WRITE ${OUT} "/* Generated from ${IN}: do not edit. */\nconst char ${NAME}[] =\n\"${text}\";\n")
