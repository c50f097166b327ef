// backends/vulkan/shaders/common.glsl — helpers shared by the op shaders (included; not compiled
// alone). Workgroups are numbered over a 2-D grid (Recorder::grid_for folds large counts into y).

uint group_index() { return gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x; }

// tanh that never overflows: exp of a large argument gives inf, and 1 - 2/(inf+1) = 1.
float safe_tanh(float x) {
    const float e = exp(2.0 * abs(x));
    return sign(x) * (1.0 - 2.0 / (e + 1.0));
}

float silu(float x) { return x / (1.0 + exp(-x)); }

// ref: transformers activations, gelu_pytorch_tanh.
float gelu_tanh(float x) {
    const float k = 0.7978845608028654;
    return 0.5 * x * (1.0 + safe_tanh(k * (x + 0.044715 * x * x * x)));
}

// erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7); GLSL has no erf.
float erf_approx(float x) {
    const float t = 1.0 / (1.0 + 0.3275911 * abs(x));
    const float y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-x * x);
    return sign(x) * y;
}

float gelu_erf(float x) { return 0.5 * x * (1.0 + erf_approx(x * 0.7071067811865476)); }
