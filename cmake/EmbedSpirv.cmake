# cmake -DIN=x.spv -DOUT=x.spv.cpp -DNAME=x -P EmbedSpirv.cmake
# Writes a C++ source holding the SPIR-V words, so shaders ship inside the library.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" hex_len)
math(EXPR size "${hex_len} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE ${OUT} "// generated from ${NAME}.comp by cmake/EmbedSpirv.cmake; do not edit\n"
                  "#include <cstddef>\n"
                  "namespace quanta::backends::vulkan::spirv {\n"
                  "alignas(4) extern const unsigned char ${NAME}[] = {${bytes}};\n"
                  "extern const size_t ${NAME}_size = ${size};\n"
                  "}\n")
