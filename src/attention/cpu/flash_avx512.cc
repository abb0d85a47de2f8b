// The fused attention kernel's AVX-512 path: flash_kernel.inl over 16-wide __m512 vectors,
// micro-tiles of 32 rows × 12 columns (24 accumulators + 2 operands + 1 broadcast of the 32 zmm
// registers). Compiled for AVX-512 by target pragma whatever the build flags; flash.cc calls it
// only when __builtin_cpu_supports says the CPU has AVX-512 F, BW, VL and DQ.
#include "attention/cpu/flash_isa.h"
#include "ops/cpu/gemm_bf16_isa.h"

#ifdef FOCUS_FLASH_X86
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,fma")
// GCC 12 warns inside its own avx512fintrin.h (_mm512_undefined_ps initialises itself).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace focus::attention::cpu {
namespace avx512 {

struct Vec {
  static constexpr int W = 16, NV = 2, NJ = 12;
  using R = __m512;
  static R zero() { return _mm512_setzero_ps(); }
  static R set1(float x) { return _mm512_set1_ps(x); }
  static R load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, R x) { _mm512_storeu_ps(p, x); }
  static R bcast(const float* p) { return _mm512_set1_ps(*p); }
  static R fma(R a, R b, R c) { return _mm512_fmadd_ps(a, b, c); }
  static R add(R a, R b) { return _mm512_add_ps(a, b); }
  static R sub(R a, R b) { return _mm512_sub_ps(a, b); }
  static R mul(R a, R b) { return _mm512_mul_ps(a, b); }
  static R max(R a, R b) { return _mm512_max_ps(a, b); }
  // dst[c·ldd + r] = src[r·lds + c]·scale for an 8×8 tile (AVX2 shuffles; AVX-512 implies them).
  static void transpose8(const float* s, int64_t lds, float* d, int64_t ldd, float scale) {
    const __m256 f = _mm256_set1_ps(scale);
    __m256 r[8], t[8];
    for (int i = 0; i < 8; ++i) r[i] = _mm256_mul_ps(_mm256_loadu_ps(s + i * lds), f);
    for (int i = 0; i < 8; i += 2) {
      t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);  // a0 b0 a1 b1 | a4 b4 a5 b5
      t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
      r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);  // a0 b0 c0 d0 | a4 b4 c4 d4
      r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
      r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
      r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int i = 0; i < 4; ++i) {
      _mm256_storeu_ps(d + i * ldd, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
      _mm256_storeu_ps(d + (i + 4) * ldd, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
    }
  }
  static R neg_inf_to_zero(R x) {
    const R ninf = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, ninf, _CMP_NEQ_UQ), x);
  }
  // exp as the AVX2 path (Cephes' polynomial), the 2^n step by vscalefps.
  static R exp(R x) {
    const R lo = _mm512_set1_ps(-87.33654f);
    const R xc = _mm512_min_ps(_mm512_max_ps(x, lo), _mm512_set1_ps(88.376f));
    const R n = _mm512_roundscale_ps(_mm512_mul_ps(xc, _mm512_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    R r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), xc);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(2.12194440e-4f), r);
    R p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    const R y = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, lo, _CMP_GE_OQ), _mm512_scalef_ps(y, n));
  }
};

#include "attention/cpu/flash_kernel.inl"

// ---- forward at bf16 (inference) ----------------------------------------------------------------
// forward_block with O = P·V on bf16 pairs, query rows in the lanes:
//     Oᵀ[d][i] (+)= Σ_p P2[p][i] · Vᵀ[d][p]  P2: Pᵀ, rows 2p and 2p+1 interleaved per lane
// where a Vᵀ row is read as pairs (one 32-bit broadcast); each vdpbf16ps adds 16 queries × 2
// products. O is held transposed, so rescaling and normalising act on lanes, and it is transposed
// into `out` once at the end. The scores stay f32: the softmax turns an error in a score into a
// relative error of the weights, so bf16's rounding of q and k (a score of 30 moves by ~0.1)
// would move a sharp head's output by several percent; the same rounding of P (in [0, 1]) and V
// moves the output by bf16's relative error only. With bf16 scores too the text benchmark was
// only ~3% faster (docs/precision.md). Rounding as gemm_bf16.h (vcvtne2ps2bf16).
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma")

namespace {

// dst[2l] = bf16(a[l]), dst[2l+1] = bf16(b[l]) (0 without b) for l < lanes (a multiple of 16).
void interleave_pair(const float* a, const float* b, int64_t lanes, uint16_t* dst) {
  const __m512i order = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24,
                                         8, 23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  for (int64_t l = 0; l < lanes; l += 16) {
    const __m512 hi = b ? _mm512_loadu_ps(b + l) : _mm512_setzero_ps();
    const __m512bh h = _mm512_cvtne2ps_pbh(hi, _mm512_loadu_ps(a + l));
    _mm512_storeu_si512(dst + 2 * l, _mm512_permutexvar_epi16(order, (__m512i)h));
  }
}

// n floats to bf16, then zeros up to n_padded.
void convert_row(const float* src, int64_t n, int64_t n_padded, uint16_t* dst) {
  focus::cpu::bf16_convert_avx512(src, n, dst);
  for (int64_t i = n; i < n_padded; ++i) dst[i] = 0;
}

template <int NVt, int NJt>
inline __attribute__((always_inline)) void tile_pairs(int64_t pairs, const uint16_t* a, int64_t lda,
                                                      const uint16_t* b, int64_t ldb, float* c,
                                                      int64_t ldc, bool accumulate) {
  __m512 t[NJt][NVt];
#pragma GCC unroll 16
  for (int n = 0; n < NJt; ++n)
#pragma GCC unroll 4
    for (int v = 0; v < NVt; ++v)
      t[n][v] = accumulate ? _mm512_loadu_ps(c + n * ldc + v * 16) : _mm512_setzero_ps();
  for (int64_t p = 0; p < pairs; ++p, a += lda) {
    __m512bh av[NVt];
#pragma GCC unroll 4
    for (int v = 0; v < NVt; ++v) av[v] = (__m512bh)_mm512_loadu_si512(a + v * 32);
#pragma GCC unroll 16
    for (int n = 0; n < NJt; ++n) {
      int32_t pair;
      std::memcpy(&pair, b + n * ldb + 2 * p, sizeof pair);
      const __m512bh bb = (__m512bh)_mm512_set1_epi32(pair);
#pragma GCC unroll 4
      for (int v = 0; v < NVt; ++v) t[n][v] = _mm512_dpbf16_ps(t[n][v], av[v], bb);
    }
  }
#pragma GCC unroll 16
  for (int n = 0; n < NJt; ++n)
#pragma GCC unroll 4
    for (int v = 0; v < NVt; ++v) _mm512_storeu_ps(c + n * ldc + v * 16, t[n][v]);
}

template <int NVt, int NJt>
inline __attribute__((always_inline)) void tile_pairs_n(int nj, int64_t pairs, const uint16_t* a,
                                                        int64_t lda, const uint16_t* b, int64_t ldb,
                                                        float* c, int64_t ldc, bool accumulate) {
  if constexpr (NJt >= 1) {
    if (nj == NJt)
      tile_pairs<NVt, NJt>(pairs, a, lda, b, ldb, c, ldc, accumulate);
    else
      tile_pairs_n<NVt, NJt - 1>(nj, pairs, a, lda, b, ldb, c, ldc, accumulate);
  }
}

template <int NVt>
__attribute__((noinline)) void gemm_pairs_rows(int64_t m0, int64_t nn, int64_t pairs,
                                               const uint16_t* a, int64_t lda, const uint16_t* b,
                                               int64_t ldb, float* c, int64_t ldc,
                                               bool accumulate) {
  constexpr int NJ = Vec::NJ;
  for (int64_t n0 = 0; n0 < nn; n0 += NJ) {
    const int nj = static_cast<int>(std::min<int64_t>(NJ, nn - n0));
    tile_pairs_n<NVt, NJ>(nj, pairs, a + 2 * m0, lda, b + n0 * ldb, ldb, c + n0 * ldc + m0, ldc,
                          accumulate);
  }
}

// C[n][m] (+)= Σ_{p < pairs} A[p][m]·B[n][p] for m < mm (a multiple of 16), n < nn: row p of A
// holds mm lanes of bf16 pairs (lda bf16 apart), row n of B holds pairs (ldb bf16 apart).
void gemm_pairs(int64_t mm, int64_t nn, int64_t pairs, const uint16_t* a, int64_t lda,
                const uint16_t* b, int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  int64_t m0 = 0;
  for (; m0 + 32 <= mm; m0 += 32)
    gemm_pairs_rows<2>(m0, nn, pairs, a, lda, b, ldb, c, ldc, accumulate);
  for (; m0 < mm; m0 += 16) gemm_pairs_rows<1>(m0, nn, pairs, a, lda, b, ldb, c, ldc, accumulate);
}

// The workspace of forward_block_bf16: offsets in floats (a bf16 buffer takes half a float per
// element), each rounded to 16 floats.
struct Bf16Layout {
  int64_t mp, kh;  // padded query rows; pairs along a key block
  size_t qt, st, ot, vt, mrow, lrow, arow, p2, v2, floats;
  Bf16Layout(const FlashParams& p, int64_t bq, int64_t bk)
      : mp(round_up(bq, 16)), kh((bk + 1) / 2) {
    size_t at = 0;
    auto take = [&](int64_t n) {
      const size_t r = at;
      at += static_cast<size_t>(round_up(n, 16));
      return r;
    };
    const int64_t d = p.d;
    qt = take(d * mp), st = take(bk * mp), ot = take(d * mp), vt = take(d * 2 * kh);
    mrow = take(mp), lrow = take(mp), arow = take(mp);
    p2 = take(kh * mp);  // [kh][mp][2] bf16
    v2 = take(d * kh);   // [d][2·kh]
    floats = at;
  }
};

size_t forward_workspace_bf16(const FlashParams& p, int64_t bq, int64_t bk) {
  return Bf16Layout(p, bq, bk).floats;
}

void forward_block_bf16(const FlashParams& p, const float* q, const float* k, const float* v,
                        float* out, float* lse, int64_t bh, int64_t q0, int64_t bq, int64_t bk,
                        float* ws) {
  using R = Vec::R;
  const Bf16Layout l(p, bq, bk);
  struct {
    float *qt, *st, *ot, *vt, *mrow, *lrow, *arow;
    uint16_t *p2, *v2;
  } w{ws + l.qt,
      ws + l.st,
      ws + l.ot,
      ws + l.vt,
      ws + l.mrow,
      ws + l.lrow,
      ws + l.arow,
      reinterpret_cast<uint16_t*>(ws + l.p2),
      reinterpret_cast<uint16_t*>(ws + l.v2)};
  const int64_t D = p.d, nq = p.nq, mp = l.mp;
  const int64_t rows = std::min(bq, nq - q0);
  const int64_t ldk = p.k_rows.n, ldv = p.v_rows.n, ldo = p.out_rows.n;
  const int64_t kv_end = start_query_block(p, q, bh, q0, rows, mp, w.qt, w.mrow, w.lrow);
  if (kv_end == 0) std::fill(w.ot, w.ot + D * mp, 0.0f);
  const float* kb = k + head_start(p, p.k_rows, bh);
  const float* vb = v + head_start(p, p.v_rows, bh);
  for (int64_t j0 = 0; j0 < kv_end; j0 += bk) {
    const int64_t jn = std::min(bk, kv_end - j0), jh = (jn + 1) / 2;
    const bool first = j0 == 0;
    const bool diag = p.causal && j0 + jn - 1 > q0;
    gemm<false>(mp, jn, D, w.qt, mp, kb + j0 * ldk, ldk, w.st, mp, false);
    if (p.bias) add_bias(p, bh, q0, rows, j0, jn, w.st, mp);
    if (diag) mask_causal(q0, mp, j0, jn, w.st, mp);
    online_softmax(w.st, mp, jn, first, diag, q0, j0, w.mrow, w.lrow, w.arow);
    if (!first)  // Oᵀ = α·Oᵀ, one factor per query lane
      for (int64_t d = 0; d < D; ++d)
        for (int64_t i = 0; i < mp; i += 16)
          Vec::store(w.ot + d * mp + i,
                     Vec::mul(Vec::load(w.ot + d * mp + i), Vec::load(w.arow + i)));
    for (int64_t r = 0; r < jh; ++r)
      interleave_pair(w.st + 2 * r * mp, 2 * r + 1 < jn ? w.st + (2 * r + 1) * mp : nullptr, mp,
                      w.p2 + r * mp * 2);
    // Vᵀ of the block as rows of key pairs.
    transpose(vb + j0 * ldv, ldv, w.vt, 2 * jh, jn, D, 1.0f);
    for (int64_t d = 0; d < D; ++d) convert_row(w.vt + d * 2 * jh, jn, 2 * jh, w.v2 + d * 2 * jh);
    gemm_pairs(mp, D, jh, w.p2, mp * 2, w.v2, 2 * jh, w.ot, mp, !first);
  }

  float* lb = lse + bh * nq + q0;
  for (int64_t i = 0; i < rows; ++i) {
    const float l = w.lrow[i];
    lb[i] = l > 0.0f ? w.mrow[i] + std::log(l) : kNegInf;
    w.arow[i] = l > 0.0f ? 1.0f / l : 0.0f;  // a row with no attended key: zeros
  }
  for (int64_t i = rows; i < mp; ++i) w.arow[i] = 0.0f;
  for (int64_t d = 0; d < D; ++d)
    for (int64_t i = 0; i < mp; i += 16) {
      const R o = Vec::mul(Vec::load(w.ot + d * mp + i), Vec::load(w.arow + i));
      Vec::store(w.ot + d * mp + i, o);
    }
  transpose(w.ot, mp, out + head_start(p, p.out_rows, bh) + q0 * ldo, ldo, D, rows, 1.0f);
}

// ---- backward at bf16 (training at train.precision bf16) -------------------------------------
// backward_head with four of its five products on bf16 pairs, f32 sums:
//     dV[j][d]  += Σ_i dO[i][d]·Pᵀ[j][i]     A = dO as pairs of query rows, B = rows of Pᵀ
//     dK[j][d]  += Σ_i Q[i][d]·dSᵀ[j][i]     A = Q as pairs of query rows,  B = rows of dSᵀ
//     dQᵀ[d][i] += Σ_j dSᵀ[j][i]·K[j][d]     A = dSᵀ as pairs of key rows, B = rows of Kᵀ
//     dPᵀ[j][i]  = Σ_d dOᵀ[d][i]·V[j][d]     A = dOᵀ as pairs of head dims, B = rows of V
// dQ is held transposed (query lanes) and transposed out once per head. The recomputed scores
// stay f32, as in the forward, so that P = exp(S − lse) is the forward's own P; what enters the
// gradients is the rounding of Q, K, V, dO, P and dS to bf16, a relative error of bf16's 2⁻⁹ per
// product, as torch.autocast's bf16 attention has (its scores are bf16 too).
struct Bf16BackwardLayout {
  int64_t nqb, bq, dp, rows, jh;  // query blocks, rows per block, padded D, nqb·bq, key pairs
  int64_t dh;                     // pairs along D
  size_t qt, dot, lse, delta, q2, do2, dot2, kt, k2, v2, dk, dv, dqt, st, dpt, zt, pb, dsb, dsa, ra,
      rb, floats;
  Bf16BackwardLayout(const FlashParams& p, int64_t bq_in, int64_t bk) {
    const BackwardLayout f32 = backward_layout(p, bq_in, bk);  // the same query blocks and D
    bq = f32.bq, nqb = f32.nqb, dp = f32.dp;
    rows = nqb * bq;
    jh = (bk + 1) / 2;
    dh = (p.d + 1) / 2;
    const int64_t d = p.d;
    size_t at = 0;
    auto take = [&](int64_t n) {
      const size_t r = at;
      at += static_cast<size_t>(round_up(n, 16));
      return r;
    };
    qt = take(rows * d), dot = take(rows * d), lse = take(rows), delta = take(rows);
    q2 = take(rows * dp / 2), do2 = take(rows * dp / 2);  // [rows/2][dp][2] bf16
    dot2 = take(rows * dh);                               // dOᵀ [dh][rows][2] bf16
    kt = take(d * 2 * jh), k2 = take(d * jh);             // Kᵀ [d][2·jh] f32, then bf16
    v2 = take(bk * dh);                                   // V rows [bk][2·dh] bf16
    dk = take(bk * dp), dv = take(bk * dp), dqt = take(d * rows);
    st = take(bk * bq), dpt = take(bk * bq), zt = take(p.dropout_p > 0.0f ? bk * bq : 0);
    pb = take(bk * bq / 2), dsb = take(bk * bq / 2);  // rows of Pᵀ and dSᵀ, bf16
    dsa = take(jh * bq);                              // [jh][bq][2] bf16
    ra = take(dp), rb = take(dp);
    floats = at;
  }
};

size_t backward_workspace_bf16(const FlashParams& p, int64_t bq, int64_t bk) {
  return Bf16BackwardLayout(p, bq, bk).floats;
}

// Rows 2p and 2p+1 of x (D floats each, ld apart; a row past `n` is zero) as pairs in dp lanes.
void pair_rows(const float* x, int64_t ld, int64_t n, int64_t d, int64_t dp, int64_t pairs,
               float* ra, float* rb, uint16_t* dst) {
  std::fill(ra + d, ra + dp, 0.0f);
  std::fill(rb + d, rb + dp, 0.0f);
  for (int64_t p = 0; p < pairs; ++p) {
    for (int e = 0; e < 2; ++e) {
      float* r = e ? rb : ra;
      const int64_t i = 2 * p + e;
      if (i < n)
        std::memcpy(r, x + i * ld, d * sizeof(float));
      else
        std::fill(r, r + d, 0.0f);
    }
    interleave_pair(ra, rb, dp, dst + p * 2 * dp);
  }
}

void backward_head_bf16(const FlashParams& p, const float* q, const float* k, const float* v,
                        const float* out, const float* lse, const float* dout, float* dq, float* dk,
                        float* dv, int64_t bh, int64_t bq_in, int64_t bk, float* ws) {
  constexpr int W = Vec::W;
  const Bf16BackwardLayout L(p, bq_in, bk);
  const int64_t D = p.d, nq = p.nq, nk = p.nk, bq = L.bq, dp = L.dp, rows_all = L.rows;
  const int64_t ldq = p.q_rows.n, ldk = p.k_rows.n, ldv = p.v_rows.n, ldo = p.out_rows.n;
  const float* qh = q + head_start(p, p.q_rows, bh);
  const float* kh = k + head_start(p, p.k_rows, bh);
  const float* vh = v + head_start(p, p.v_rows, bh);
  const float* oh = out + head_start(p, p.out_rows, bh);
  const float* doh = dout + head_start(p, p.out_rows, bh);
  const float* lh = lse + bh * nq;
  float* dqh = dq + head_start(p, p.q_rows, bh);
  float* dkh = dk + head_start(p, p.k_rows, bh);
  float* dvh = dv + head_start(p, p.v_rows, bh);
  float *qt = ws + L.qt, *dot = ws + L.dot, *lse_s = ws + L.lse, *delta = ws + L.delta;
  float *kt = ws + L.kt, *dka = ws + L.dk, *dva = ws + L.dv, *dqt = ws + L.dqt;
  float *st = ws + L.st, *dpt = ws + L.dpt, *zt = ws + L.zt;
  auto half = [&](size_t off) { return reinterpret_cast<uint16_t*>(ws + off); };
  uint16_t *q2 = half(L.q2), *do2 = half(L.do2), *dot2 = half(L.dot2), *k2 = half(L.k2);
  uint16_t* v2 = half(L.v2);
  const int64_t dh = L.dh;
  uint16_t *pb = half(L.pb), *dsb = half(L.dsb), *dsa = half(L.dsa);

  start_backward_head(p, qh, oh, doh, lh, L.nqb, bq, qt, dot, delta, lse_s);
  for (int64_t qb = 0; qb < L.nqb; ++qb)  // dOᵀ of each query block as pairs of head dims
    for (int64_t r = 0; r < dh; ++r) {
      const float* dotb = dot + qb * D * bq;
      interleave_pair(dotb + 2 * r * bq, 2 * r + 1 < D ? dotb + (2 * r + 1) * bq : nullptr, bq,
                      dot2 + (qb * dh + r) * 2 * bq);
    }
  pair_rows(qh, ldq, nq, D, dp, rows_all / 2, ws + L.ra, ws + L.rb, q2);
  pair_rows(doh, ldo, nq, D, dp, rows_all / 2, ws + L.ra, ws + L.rb, do2);
  std::fill(dqt, dqt + D * rows_all, 0.0f);
  // dropout_factors writes the block's rows only; the padding rows' factors must be finite, as
  // their P = 0 meets them in the products over all the block's lanes.
  if (p.dropout_p > 0.0f) std::fill(zt, zt + bk * bq, 0.0f);

  int64_t kv_end = key_end(p, bh);
  if (p.causal) kv_end = std::min(kv_end, nq);
  for (int64_t j0 = 0; j0 < kv_end; j0 += bk) {
    const int64_t jn = std::min(bk, kv_end - j0), jh = (jn + 1) / 2;
    transpose(kh + j0 * ldk, ldk, kt, 2 * jh, jn, D, 1.0f);  // Kᵀ of the block as key pairs
    for (int64_t d = 0; d < D; ++d) convert_row(kt + d * 2 * jh, jn, 2 * jh, k2 + d * 2 * jh);
    for (int64_t j = 0; j < jn; ++j) convert_row(vh + (j0 + j) * ldv, D, 2 * dh, v2 + j * 2 * dh);
    std::fill(dka, dka + jn * dp, 0.0f);
    std::fill(dva, dva + jn * dp, 0.0f);
    for (int64_t qb = p.causal ? j0 / bq : 0; qb < L.nqb; ++qb) {
      const int64_t i0 = qb * bq, rows = std::min(bq, nq - i0);
      const int64_t mp = round_up(rows, W);
      const bool diag = p.causal && j0 + jn - 1 > i0;
      const int64_t dg = i0 - j0;
      const Tri tri = diag ? Tri::n_keys : Tri::none;
      gemm<false>(mp, jn, D, qt + qb * D * bq, bq, kh + j0 * ldk, ldk, st, bq, false, tri, dg);
      gemm_pairs(mp, jn, dh, dot2 + qb * dh * 2 * bq, 2 * bq, v2, 2 * dh, dpt, bq, false);
      probabilities_and_ds(p, bh, i0, rows, mp, j0, jn, diag, lse_s, delta, st, dpt, zt, bq);
      for (int64_t j = 0; j < jn; ++j) {
        convert_row(st + j * bq, mp, mp, pb + j * bq);
        convert_row(dpt + j * bq, mp, mp, dsb + j * bq);
      }
      for (int64_t r = 0; r < jh; ++r)
        interleave_pair(dpt + 2 * r * bq, 2 * r + 1 < jn ? dpt + (2 * r + 1) * bq : nullptr, mp,
                        dsa + r * 2 * bq);
      const int64_t pairs = (rows + 1) / 2;  // a padding row has P = dS = 0 and Q = dO = 0
      gemm_pairs(dp, jn, pairs, do2 + i0 * dp, 2 * dp, pb, bq, dva, dp, true);
      gemm_pairs(dp, jn, pairs, q2 + i0 * dp, 2 * dp, dsb, bq, dka, dp, true);
      gemm_pairs(mp, D, jh, dsa, 2 * bq, k2, 2 * jh, dqt + i0, rows_all, true);
    }
    for (int64_t j = 0; j < jn; ++j) {
      std::memcpy(dkh + (j0 + j) * ldk, dka + j * dp, D * sizeof(float));
      std::memcpy(dvh + (j0 + j) * ldv, dva + j * dp, D * sizeof(float));
    }
  }
  for (int64_t j = kv_end; j < nk; ++j) {
    std::fill(dkh + j * ldk, dkh + j * ldk + D, 0.0f);
    std::fill(dvh + j * ldv, dvh + j * ldv + D, 0.0f);
  }
  transpose(dqt, rows_all, dqh, ldq, D, nq, 1.0f);
}

}  // namespace

#pragma GCC pop_options

}  // namespace avx512
}  // namespace focus::attention::cpu

#pragma GCC diagnostic pop
#pragma GCC pop_options

namespace focus::attention::cpu {

const FlashKernels& flash_kernels_avx512() {
  static const FlashKernels k{"avx512",
                              96,
                              96,
                              32,
                              avx512::forward_workspace,
                              avx512::backward_workspace,
                              avx512::forward_block,
                              avx512::backward_head,
                              avx512::forward_workspace_bf16,
                              avx512::forward_block_bf16,
                              avx512::backward_workspace_bf16,
                              avx512::backward_head_bf16};
  return k;
}

}  // namespace focus::attention::cpu

#endif  // FOCUS_FLASH_X86
