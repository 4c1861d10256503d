// Software z-buffer rasteriser.
//
// Coordinate conventions of the rasteriser (see cmp_edge/render.py):
//   view = scale * R @ v + t          (x right, y up, z toward the viewer)
//   pixel column = view.x, pixel row = height - view.y   (continuous; pixel
//   (r, c) has its centre at column c + 0.5, row r + 0.5)
// A larger view.z is nearer. Shading is Lambertian with per-pixel interpolated
// vertex normals, two-sided (a normal facing away from the viewer is flipped).
#pragma once

#include <cstddef>
#include <cstdint>

namespace cmp_edge {

struct RenderParams {
  float rotation[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};  // row-major 3x3
  float scale = 1.0f;                               // pixels per model unit
  float translation[3] = {0, 0, 0};                 // pixels (x, y, z)
  float light_dir[3] = {0, 0, 1};  // toward the light, view space; normalised inside
  float ambient = 0.25f;           // intensity = ambient + (1 - ambient) * max(0, n.l)
  float alpha = 1.0f;              // opacity of the mesh over the image, [0, 1]
  float base_color[3] = {0.8f, 0.8f, 0.8f};  // albedo in [0, 1] without vertex colours
  int threads = 1;                           // row bands rendered in parallel
};

// Renders the mesh into `image` (height x width x 3, uint8, row-major) in place.
// vertices: n_vertices x 3 float32; triangles: n_triangles x 3 int32 (checked
// to lie in [0, n_vertices): std::out_of_range otherwise); colors: null or
// n_vertices x 3 float32 albedo in [0, 1]; depth_out: null or height x width
// float32, receives view.z of the visible surface or -inf where empty.
// Returns the number of covered pixels. Non-finite vertices: std::invalid_argument.
int64_t render_mesh(const float* vertices, int64_t n_vertices, const int32_t* triangles,
                    int64_t n_triangles, const float* colors, const RenderParams& params,
                    uint8_t* image, int height, int width, float* depth_out);

}  // namespace cmp_edge
