#version 450
// y[i] = s * x[i] for i < n. One invocation per element; the workgroup size is a specialization
// constant so the host can match the device's preferred size.
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Params { uint n; float s; } p;

void main() {
    const uint i = gl_GlobalInvocationID.x;
    if (i < p.n) y[i] = p.s * x[i];
}
