#version 450
// get_rows for QT3 tables (body: get_rows.glsl; decode: quant/qt3.glsl).
#include "quant/qt3.glsl"
#include "get_rows.glsl"
