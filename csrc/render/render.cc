// Software z-buffer rasteriser (see render.h).
#include "render/render.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

#include "common/check.h"
#include "common/mesh_check.h"
#include "common/parallel.h"

namespace cmp_edge {
namespace {

// floor / ceil of a value known to be >= 0 and small (no libm call without SSE4.1).
inline int64_t floor_nonneg(float v) { return static_cast<int64_t>(v); }
inline int64_t ceil_nonneg(float v) {
  const int64_t i = static_cast<int64_t>(v);
  return static_cast<float>(i) < v ? i + 1 : i;
}

inline float min3(float a, float b, float c) { return std::min(a, std::min(b, c)); }
inline float max3(float a, float b, float c) { return std::max(a, std::max(b, c)); }

// Edge function of the directed edge (ax, ay) -> (bx, by), scaled by `inv`:
// value(px, py) = inv * ((bx - ax) (py - oy) - (by - ay) (px - ox)) with the
// reference point (ox, oy) the endpoint of smaller magnitude.
struct Edge {
  double a, b, ox, oy;
  double row(double py) const { return b * (py - oy); }
  double at(double px, double row_value) const { return a * (px - ox) + row_value; }
};

inline Edge make_edge(double ax, double ay, double bx, double by, double inv) {
  const bool use_a = std::max(std::fabs(ax), std::fabs(ay)) <= std::max(std::fabs(bx), std::fabs(by));
  return Edge{-(by - ay) * inv, (bx - ax) * inv, use_a ? ax : bx, use_a ? ay : by};
}

// Per-pixel visibility buffer: nearest depth, triangle id and two barycentrics.
struct VisBuffer {
  std::vector<float> depth;
  std::vector<int32_t> tri;
  std::vector<float> bary;  // (b1, b2) per pixel
};

// Rasterises every triangle into rows [row_begin, row_end) of the buffers.
void rasterise_rows(const float* sx, const float* sy, const float* sz, const int32_t* triangles,
                    int64_t n_triangles, int width, int64_t row_begin, int64_t row_end,
                    VisBuffer& vis) {
  const float fw = static_cast<float>(width);
  const float frb = static_cast<float>(row_begin), fre = static_cast<float>(row_end);
  for (int64_t t = 0; t < n_triangles; ++t) {
    const int32_t i0 = triangles[3 * t], i1 = triangles[3 * t + 1], i2 = triangles[3 * t + 2];
    const float x0 = sx[i0], y0 = sy[i0], x1 = sx[i1], y1 = sy[i1], x2 = sx[i2], y2 = sy[i2];
    const float xmin = min3(x0, x1, x2), xmax = max3(x0, x1, x2);
    const float ymin = min3(y0, y1, y2), ymax = max3(y0, y1, y2);
    // Pixel centres at c + 0.5 inside [xmin, xmax]; reject before any int cast.
    if (!(xmax >= 0.5f && xmin <= fw - 0.5f && ymax >= frb + 0.5f && ymin <= fre - 0.5f))
      continue;  // outside the band (or NaN)
    // Clamped to the band, so the integer conversions below cannot overflow.
    const int64_t cmin = ceil_nonneg(std::max(xmin, 0.5f) - 0.5f);
    const int64_t cmax = std::min<int64_t>(width - 1, floor_nonneg(std::min(xmax, fw) - 0.5f));
    const int64_t rmin = ceil_nonneg(std::max(ymin, frb + 0.5f) - 0.5f);
    const int64_t rmax =
        std::min<int64_t>(row_end - 1, floor_nonneg(std::min(ymax, fre) - 0.5f));
    if (cmin > cmax || rmin > rmax) continue;  // covers no pixel centre
    // Edge functions in double, each relative to the endpoint nearer the
    // origin, so that the inside test stays exact even when one vertex lies
    // far outside the frame (no "1 - b0 - b1" cancellation).
    const double X0 = x0, Y0 = y0, X1 = x1, Y1 = y1, X2 = x2, Y2 = y2;
    const double area = (X1 - X0) * (Y2 - Y0) - (Y1 - Y0) * (X2 - X0);
    if (!(std::fabs(area) > 1e-12)) continue;  // degenerate
    const double inv = 1.0 / area;
    // Barycentric k = edge function of the edge opposite vertex k, / area.
    const Edge e0 = make_edge(X1, Y1, X2, Y2, inv);
    const Edge e1 = make_edge(X2, Y2, X0, Y0, inv);
    const Edge e2 = make_edge(X0, Y0, X1, Y1, inv);
    const double z0 = sz[i0], z1 = sz[i1], z2 = sz[i2];
    for (int64_t r = rmin; r <= rmax; ++r) {
      const double py = static_cast<double>(r) + 0.5;
      const double row0 = e0.row(py), row1 = e1.row(py), row2 = e2.row(py);
      float* depth_row = vis.depth.data() + r * width;
      int32_t* tri_row = vis.tri.data() + r * width;
      float* bary_row = vis.bary.data() + 2 * r * width;
      for (int64_t c = cmin; c <= cmax; ++c) {
        const double px = static_cast<double>(c) + 0.5;
        const double b0 = e0.at(px, row0), b1 = e1.at(px, row1), b2 = e2.at(px, row2);
        if (b0 < 0.0 || b1 < 0.0 || b2 < 0.0) continue;
        const float z = static_cast<float>(b0 * z0 + b1 * z1 + b2 * z2);
        if (z > depth_row[c]) {
          depth_row[c] = z;
          tri_row[c] = static_cast<int32_t>(t);
          bary_row[2 * c] = static_cast<float>(b1);
          bary_row[2 * c + 1] = static_cast<float>(b2);
        }
      }
    }
  }
}

inline uint8_t to_byte(float v) {
  v = std::min(255.0f, std::max(0.0f, v));
  return static_cast<uint8_t>(std::lround(v));
}

}  // namespace

int64_t render_mesh(const float* vertices, int64_t n_vertices, const int32_t* triangles,
                    int64_t n_triangles, const float* colors, const RenderParams& p,
                    uint8_t* image, int height, int width, float* depth_out) {
  CMP_CHECK_ARG(height > 0 && width > 0, "image size must be positive, got ", height, " x ",
                width);
  CMP_CHECK_ARG(n_vertices >= 0 && n_triangles >= 0, "negative mesh size");
  CMP_CHECK_ARG(n_triangles <= std::numeric_limits<int32_t>::max(), "too many triangles (",
                n_triangles, "); at most 2^31 - 1");
  CMP_CHECK_ARG(std::isfinite(p.scale) && p.scale > 0.0f, "scale must be finite and > 0, got ",
                p.scale);
  CMP_CHECK_ARG(p.ambient >= 0.0f && p.ambient <= 1.0f, "ambient must be in [0, 1], got ",
                p.ambient);
  CMP_CHECK_ARG(p.alpha >= 0.0f && p.alpha <= 1.0f, "alpha must be in [0, 1], got ", p.alpha);
  for (int k = 0; k < 9; ++k)
    CMP_CHECK_ARG(std::isfinite(p.rotation[k]), "rotation must be finite");
  for (int k = 0; k < 3; ++k)
    CMP_CHECK_ARG(std::isfinite(p.translation[k]) && std::isfinite(p.light_dir[k]),
                  "translation and light direction must be finite");
  const float light_len = std::sqrt(p.light_dir[0] * p.light_dir[0] +
                                    p.light_dir[1] * p.light_dir[1] +
                                    p.light_dir[2] * p.light_dir[2]);
  CMP_CHECK_ARG(light_len > 0.0f, "light direction must be non-zero");
  const float L[3] = {p.light_dir[0] / light_len, p.light_dir[1] / light_len,
                      p.light_dir[2] / light_len};
  check_triangles(triangles, n_triangles, n_vertices);

  const size_t n = static_cast<size_t>(n_vertices);
  const float fh = static_cast<float>(height);
  // View-space positions (y up), screen positions (row down) share x and z.
  std::vector<float> sx(n), sy(n), sz(n), vy(n);
  const float* R = p.rotation;
  bool finite = true;
  for (size_t i = 0; i < n; ++i) {
    const float x = vertices[3 * i], y = vertices[3 * i + 1], z = vertices[3 * i + 2];
    const float X = p.scale * (R[0] * x + R[1] * y + R[2] * z) + p.translation[0];
    const float Y = p.scale * (R[3] * x + R[4] * y + R[5] * z) + p.translation[1];
    const float Z = p.scale * (R[6] * x + R[7] * y + R[8] * z) + p.translation[2];
    finite = finite && std::isfinite(X) && std::isfinite(Y) && std::isfinite(Z);
    sx[i] = X;
    vy[i] = Y;
    sy[i] = fh - Y;
    sz[i] = Z;
  }
  CMP_CHECK_ARG(finite, "vertices must be finite (NaN or infinity found after the transform)");

  // Area-weighted vertex normals in view space.
  std::vector<float> normals(3 * n, 0.0f);
  for (int64_t t = 0; t < n_triangles; ++t) {
    const int32_t i[3] = {triangles[3 * t], triangles[3 * t + 1], triangles[3 * t + 2]};
    const float ax = sx[i[1]] - sx[i[0]], ay = vy[i[1]] - vy[i[0]], az = sz[i[1]] - sz[i[0]];
    const float bx = sx[i[2]] - sx[i[0]], by = vy[i[2]] - vy[i[0]], bz = sz[i[2]] - sz[i[0]];
    const float nx = ay * bz - az * by, ny = az * bx - ax * bz, nz = ax * by - ay * bx;
    for (int32_t v : i) {
      normals[3 * v] += nx;
      normals[3 * v + 1] += ny;
      normals[3 * v + 2] += nz;
    }
  }

  const size_t pixels = static_cast<size_t>(height) * static_cast<size_t>(width);
  VisBuffer vis;
  vis.depth.assign(pixels, -std::numeric_limits<float>::infinity());
  vis.tri.assign(pixels, -1);
  vis.bary.assign(2 * pixels, 0.0f);

  const int threads = std::max(1, p.threads);
  parallel_for(height, threads, 16, [&](int64_t r0, int64_t r1) {
    rasterise_rows(sx.data(), sy.data(), sz.data(), triangles, n_triangles, width, r0, r1, vis);
  });

  std::vector<int64_t> covered_per_row(static_cast<size_t>(height), 0);
  const float ambient = p.ambient, alpha = p.alpha;
  parallel_for(height, threads, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t covered = 0;
      for (int64_t c = 0; c < width; ++c) {
        const size_t idx = static_cast<size_t>(r * width + c);
        const int32_t t = vis.tri[idx];
        if (t < 0) continue;
        ++covered;
        const float b1 = vis.bary[2 * idx], b2 = vis.bary[2 * idx + 1], b0 = 1.0f - b1 - b2;
        const int32_t i0 = triangles[3 * t], i1 = triangles[3 * t + 1], i2 = triangles[3 * t + 2];
        float nv[3];
        for (int k = 0; k < 3; ++k)
          nv[k] = b0 * normals[3 * i0 + k] + b1 * normals[3 * i1 + k] + b2 * normals[3 * i2 + k];
        if (nv[2] < 0.0f) {  // two-sided: face the viewer
          nv[0] = -nv[0];
          nv[1] = -nv[1];
          nv[2] = -nv[2];
        }
        const float len = std::sqrt(nv[0] * nv[0] + nv[1] * nv[1] + nv[2] * nv[2]);
        float lambert = L[2];  // fallback normal (0, 0, 1)
        if (len > 0.0f) lambert = (nv[0] * L[0] + nv[1] * L[1] + nv[2] * L[2]) / len;
        const float intensity = ambient + (1.0f - ambient) * std::max(0.0f, lambert);
        uint8_t* px = image + 3 * idx;
        for (int k = 0; k < 3; ++k) {
          const float albedo =
              colors ? b0 * colors[3 * i0 + k] + b1 * colors[3 * i1 + k] + b2 * colors[3 * i2 + k]
                     : p.base_color[k];
          const float shaded = 255.0f * albedo * intensity;
          px[k] = to_byte(alpha * shaded + (1.0f - alpha) * static_cast<float>(px[k]));
        }
      }
      covered_per_row[static_cast<size_t>(r)] = covered;
    }
  });
  if (depth_out) std::memcpy(depth_out, vis.depth.data(), pixels * sizeof(float));
  int64_t total = 0;
  for (int64_t v : covered_per_row) total += v;
  return total;
}

}  // namespace cmp_edge
