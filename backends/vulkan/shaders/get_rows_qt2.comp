#version 450
// get_rows for QT2 tables (body: get_rows.glsl; decode: quant/qt2.glsl).
#include "quant/qt2.glsl"
#include "get_rows.glsl"
