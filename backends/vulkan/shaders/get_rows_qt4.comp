#version 450
// get_rows for QT4 tables (body: get_rows.glsl; decode: quant/qt4.glsl).
#include "quant/qt4.glsl"
#include "get_rows.glsl"
