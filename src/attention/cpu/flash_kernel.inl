// FlashAttention-2 forward and backward, written once over a SIMD traits type `Vec` that the
// including file defines (flash.cc: portable 8-wide arrays; flash_avx2.cc: __m256;
// flash_avx512.cc: __m512). Included inside an ISA's namespace, after its target pragma; it
// includes nothing itself (see flash_isa.h). Everything here has internal linkage.
//
// Vec provides: W (lanes), NV (vectors per micro-tile row), NJ (micro-tile columns), type R and
// zero, set1, load, store, bcast, fma, add, sub, mul, max, exp (0 for -inf and below ln FLT_MIN),
// neg_inf_to_zero (x == -inf ? 0 : x), transpose8 (an 8×8 tile, scaled).
//
// Layout. The one GEMM shape used everywhere is
//     C[n][m] (+)= Σ_k A[k][m] · B(n, k)        m: W-wide lanes, contiguous in A and C
// with A packed (lanes contiguous), B read by broadcasts at any strides. Scores are held
// transposed, Sᵀ[j][i] with the query index i in the lanes, so the row-wise softmax of the forward
// (max, exp, sum over keys j) is purely vertical: one vector per W queries, no shuffles.
//     forward   Sᵀ[j][i] = Σ_d Qᵀ[d][i]·K[j][d]        A = Qᵀ (packed, pre-scaled), B = K
//               Oᵀ[d][i] += Σ_j Pᵀ[j][i]·V[j][d]       A = Pᵀ, B = V
//     backward  Sᵀ, dPᵀ[j][i] = Σ_d dOᵀ[d][i]·V[j][d]  as above
//               dV[j][d] += Σ_i dO[i][d]·Pᵀ[j][i]      A = dO, lanes over d
//               dK[j][d] += Σ_i Q[i][d]·dSᵀ[j][i]      A = Q
//               dQ[i][d] += Σ_j K[j][d]·dSᵀ[j][i]      A = K
// Rows of the lane dimension are padded to a multiple of W (queries) or to Dp = ⌈D/W⌉·W (head
// size) with zeros; the padding is computed but never written out.

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr float kInf = std::numeric_limits<float>::infinity();

#define FLASH_INLINE inline __attribute__((always_inline))

inline int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// One register tile: C[n][v·W + l] for n < NJt, v < NVt. SN1: B(n, k) = b[k·ldb + n], otherwise
// B(n, k) = b[n·ldb + k].
template <int NVt, int NJt, bool SN1>
FLASH_INLINE void tile(int64_t kn, const float* __restrict a, int64_t lda,
                       const float* __restrict b, int64_t ldb, float* __restrict c, int64_t ldc,
                       bool accumulate) {
  using R = typename Vec::R;
  constexpr int W = Vec::W;
  R t[NJt][NVt];
  if (accumulate) {
#pragma GCC unroll 16
    for (int n = 0; n < NJt; ++n)
#pragma GCC unroll 4
      for (int v = 0; v < NVt; ++v) t[n][v] = Vec::load(c + n * ldc + v * W);
  } else {
#pragma GCC unroll 16
    for (int n = 0; n < NJt; ++n)
#pragma GCC unroll 4
      for (int v = 0; v < NVt; ++v) t[n][v] = Vec::zero();
  }
  if constexpr (SN1) {
    for (int64_t k = 0; k < kn; ++k, a += lda, b += ldb) {
      R av[NVt];
#pragma GCC unroll 4
      for (int v = 0; v < NVt; ++v) av[v] = Vec::load(a + v * W);
#pragma GCC unroll 16
      for (int n = 0; n < NJt; ++n) {
        const R bb = Vec::bcast(b + n);
#pragma GCC unroll 4
        for (int v = 0; v < NVt; ++v) t[n][v] = Vec::fma(av[v], bb, t[n][v]);
      }
    }
  } else {
    const float* bn[NJt];
#pragma GCC unroll 16
    for (int n = 0; n < NJt; ++n) bn[n] = b + n * ldb;
    for (int64_t k = 0; k < kn; ++k, a += lda) {
      R av[NVt];
#pragma GCC unroll 4
      for (int v = 0; v < NVt; ++v) av[v] = Vec::load(a + v * W);
#pragma GCC unroll 16
      for (int n = 0; n < NJt; ++n) {
        const R bb = Vec::bcast(bn[n] + k);
#pragma GCC unroll 4
        for (int v = 0; v < NVt; ++v) t[n][v] = Vec::fma(av[v], bb, t[n][v]);
      }
    }
  }
#pragma GCC unroll 16
  for (int n = 0; n < NJt; ++n)
#pragma GCC unroll 4
    for (int v = 0; v < NVt; ++v) Vec::store(c + n * ldc + v * W, t[n][v]);
}

// Picks the tile instantiation for a partial tile of nj columns (1 <= nj <= NJt).
template <int NVt, int NJt, bool SN1>
FLASH_INLINE void tile_n(int nj, int64_t kn, const float* a, int64_t lda, const float* b,
                         int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  if constexpr (NJt >= 1) {
    if (nj == NJt)
      tile<NVt, NJt, SN1>(kn, a, lda, b, ldb, c, ldc, accumulate);
    else
      tile_n<NVt, NJt - 1, SN1>(nj, kn, a, lda, b, ldb, c, ldc, accumulate);
  }
}

// What a causal mask lets a GEMM skip. Entry (query i, key j) of a block is attended only if
// j <= i + diag (diag = first query − first key of the block); the roles of m, n and k:
enum class Tri {
  none,
  n_keys,       // m = query, n = key: columns n >= m_end + diag are masked (left unset)
  k_keys,       // m = query, k = key: P = 0 for k >= m_end + diag
  k_queries,    // n = key, k = query: P, dS = 0 for k < n_begin − diag
  k_keys_by_n,  // n = query, k = key: dS = 0 for k >= n_end + diag
};

template <int NVt, bool SN1>
__attribute__((noinline)) void gemm_rows(int64_t m0, int64_t nn, int64_t kn, const float* a,
                                         int64_t lda, const float* b, int64_t ldb, float* c,
                                         int64_t ldc, bool accumulate, Tri tri, int64_t diag) {
  constexpr int NJ = Vec::NJ;
  const int64_t m_end = m0 + NVt * Vec::W;
  if (tri == Tri::n_keys) nn = std::clamp<int64_t>(m_end + diag, 0, nn);
  if (tri == Tri::k_keys) kn = std::clamp<int64_t>(m_end + diag, 0, kn);
  for (int64_t n0 = 0; n0 < nn; n0 += NJ) {
    const int nj = static_cast<int>(std::min<int64_t>(NJ, nn - n0));
    int64_t k0 = 0, k1 = kn;
    if (tri == Tri::k_queries) k0 = std::clamp<int64_t>(n0 - diag, 0, kn);
    if (tri == Tri::k_keys_by_n) k1 = std::clamp<int64_t>(n0 + nj + diag, 0, kn);
    if (k1 <= k0 && accumulate) continue;
    const float* at = a + m0 + k0 * lda;
    const float* bt = SN1 ? b + n0 + k0 * ldb : b + n0 * ldb + k0;
    float* ct = c + n0 * ldc + m0;
    const int64_t kt = std::max<int64_t>(k1 - k0, 0);
    if (nj == NJ)
      tile<NVt, NJ, SN1>(kt, at, lda, bt, ldb, ct, ldc, accumulate);
    else
      tile_n<NVt, NJ - 1, SN1>(nj, kt, at, lda, bt, ldb, ct, ldc, accumulate);
  }
}

// C[n][m] (+)= Σ_{k<kn} A[k·lda + m]·B(n, k) for m < mm (a multiple of W), n < nn, skipping
// what `tri` says a causal mask zeroes.
template <bool SN1>
void gemm(int64_t mm, int64_t nn, int64_t kn, const float* a, int64_t lda, const float* b,
          int64_t ldb, float* c, int64_t ldc, bool accumulate, Tri tri = Tri::none,
          int64_t diag = 0) {
  constexpr int W = Vec::W, NV = Vec::NV;
  int64_t m0 = 0;
  for (; m0 + NV * W <= mm; m0 += NV * W)
    gemm_rows<NV, SN1>(m0, nn, kn, a, lda, b, ldb, c, ldc, accumulate, tri, diag);
  for (; m0 < mm; m0 += W)
    gemm_rows<1, SN1>(m0, nn, kn, a, lda, b, ldb, c, ldc, accumulate, tri, diag);
}

// dst[c·ldd + r] = src[r·lds + c]·scale for r < rows, c < cols, in 8×8 register tiles
// (element-wise strided stores would cost as much as the attention itself at N = 128).
void transpose(const float* src, int64_t lds, float* dst, int64_t ldd, int64_t rows, int64_t cols,
               float scale) {
  constexpr int T = 8;
  for (int64_t r0 = 0; r0 < rows; r0 += T)
    for (int64_t c0 = 0; c0 < cols; c0 += T) {
      if (r0 + T <= rows && c0 + T <= cols) {
        Vec::transpose8(src + r0 * lds + c0, lds, dst + c0 * ldd + r0, ldd, scale);
      } else {
        for (int64_t r = r0; r < std::min(rows, r0 + T); ++r)
          for (int64_t c = c0; c < std::min(cols, c0 + T); ++c)
            dst[c * ldd + r] = src[r * lds + c] * scale;
      }
    }
}

// Adds the bias to Sᵀ[j][i] (ld = ldst) for query rows q0 + i, i < rows, and keys j0 + j, j < jn.
void add_bias(const FlashParams& p, int64_t bh, int64_t q0, int64_t rows, int64_t j0, int64_t jn,
              float* st, int64_t ldst) {
  const int64_t b = bh / p.heads, h = bh % p.heads;
  const int64_t* s = p.bias_strides;
  for (int64_t i = 0; i < rows; ++i) {
    const float* row = p.bias + b * s[0] + h * s[1] + (q0 + i) * s[2] + j0 * s[3];
    for (int64_t j = 0; j < jn; ++j) st[j * ldst + i] += row[j * s[3]];
  }
}

// Causal mask: Sᵀ[j][i] = -inf where key j0 + j > query q0 + i (all ld rows, padding included).
void mask_causal(int64_t q0, int64_t rows_ld, int64_t j0, int64_t jn, float* st, int64_t ldst) {
  for (int64_t j = 0; j < jn; ++j) {
    const int64_t upto = std::min(rows_ld, std::max<int64_t>(0, j0 + j - q0));  // rows i < upto
    for (int64_t i = 0; i < upto; ++i) st[j * ldst + i] = kNegInf;
  }
}

// Dropout factors Z[j][i] ∈ {0, 1/(1−p)} for queries q0 + i (i < rows) and keys j0 + j (j < jn),
// multiplied into x (mul) or stored in x (!mul). Counters as documented in flash.h.
void dropout_factors(const FlashParams& p, int64_t bh, int64_t q0, int64_t rows, int64_t j0,
                     int64_t jn, float* x, int64_t ldx, bool mul) {
  const Generator gen(p.seed);
  const float keep_scale = 1.0f / (1.0f - p.dropout_p);
  for (int64_t i = 0; i < rows; ++i) {
    const uint64_t base = p.offset + static_cast<uint64_t>(((bh * p.nq) + q0 + i) * p.nk + j0);
    for (int64_t j = 0; j < jn; ++j) {
      const float z = gen.uniform(base + j) >= p.dropout_p ? keep_scale : 0.0f;
      float& e = x[j * ldx + i];
      e = mul ? e * z : z;
    }
  }
}

// Row 0 of head bh = b·H + h in an operand laid out as r.
inline int64_t head_start(const FlashParams& p, const RowLayout& r, int64_t bh) {
  return (bh / p.heads) * r.b + (bh % p.heads) * r.h;
}

int64_t key_end(const FlashParams& p, int64_t bh) {
  return p.key_lengths ? std::clamp<int64_t>(p.key_lengths[bh / p.heads], 0, p.nk) : p.nk;
}

// ---- forward ------------------------------------------------------------------------------------

size_t forward_workspace(const FlashParams& p, int64_t bq, int64_t bk) {
  const int64_t mp = round_up(bq, Vec::W), dp = round_up(p.d, Vec::W);
  const int64_t vpad = dp != p.d ? bk * dp : 0;
  return static_cast<size_t>(p.d * mp + bk * mp + mp * dp + vpad + 3 * mp);
}

// Starts the query block of rows q0..q0+rows of head bh: Qᵀ·scale into qt [D][mp] (padding rows
// zero) and the running max and sum reset. Returns the end of the keys the block attends.
int64_t start_query_block(const FlashParams& p, const float* q, int64_t bh, int64_t q0,
                          int64_t rows, int64_t mp, float* qt, float* mrow, float* lrow) {
  const int64_t D = p.d, ldq = p.q_rows.n;
  transpose(q + head_start(p, p.q_rows, bh) + q0 * ldq, ldq, qt, mp, rows, D, p.scale);
  for (int64_t d = 0; d < D; ++d)
    for (int64_t i = rows; i < mp; ++i) qt[d * mp + i] = 0.0f;
  std::fill(mrow, mrow + mp, kNegInf);
  std::fill(lrow, lrow + mp, 0.0f);
  const int64_t kv_end = key_end(p, bh);
  return p.causal ? std::min(kv_end, q0 + rows) : kv_end;  // key j is seen only by queries i >= j
}

// Online softmax over one key block's scores Sᵀ [jn][mp] (ld mp), W query rows at a time: updates
// the running max mrow and sum lrow, leaves Pᵀ = exp(S − max) in st, and, unless this is the first
// block, the factor α by which O's rows must be rescaled in arow. With a causal diagonal across
// the block (diag), keys past each row tile's last query are 0.
FLASH_INLINE void online_softmax(float* st, int64_t mp, int64_t jn, bool first, bool diag,
                                 int64_t q0, int64_t j0, float* mrow, float* lrow, float* arow) {
  using R = typename Vec::R;
  constexpr int W = Vec::W;
  // Keys j >= j_lim are masked for all W rows (and may not have been computed): their P is 0.
  for (int64_t i = 0; i < mp; i += W) {
    const int64_t j_lim = diag ? std::clamp<int64_t>(i + W + q0 - j0, 0, jn) : jn;
    const R m_old = Vec::load(mrow + i);
    R mx = m_old;
    for (int64_t j = 0; j < j_lim; ++j) mx = Vec::max(mx, Vec::load(st + j * mp + i));
    const R mu = Vec::neg_inf_to_zero(mx);  // a row masked so far: exp(-inf - 0) = 0, no NaN
    R sum = Vec::zero();
    for (int64_t j = 0; j < j_lim; ++j) {
      const R e = Vec::exp(Vec::sub(Vec::load(st + j * mp + i), mu));
      Vec::store(st + j * mp + i, e);
      sum = Vec::add(sum, e);
    }
    for (int64_t j = j_lim; j < jn; ++j) Vec::store(st + j * mp + i, Vec::zero());
    Vec::store(mrow + i, mx);
    if (first) {
      Vec::store(lrow + i, sum);
    } else {
      const R alpha = Vec::exp(Vec::sub(m_old, mu));
      Vec::store(lrow + i, Vec::fma(Vec::load(lrow + i), alpha, sum));
      Vec::store(arow + i, alpha);
    }
  }
}

void forward_block(const FlashParams& p, const float* q, const float* k, const float* v, float* out,
                   float* lse, int64_t bh, int64_t q0, int64_t bq, int64_t bk, float* ws) {
  using R = typename Vec::R;
  constexpr int W = Vec::W;
  const int64_t D = p.d, nq = p.nq;
  const int64_t rows = std::min(bq, nq - q0);
  const int64_t mp = round_up(rows, W);          // padded rows = ld of the transposed buffers
  const int64_t dp = round_up(D, W);             // padded head size = ld of O
  float* qt = ws;                                // Qᵀ·scale [D][mp]
  float* st = qt + D * mp;                       // Sᵀ, then Pᵀ [bk][mp]
  float* o = st + bk * mp;                       // O [rows][dp], unnormalised, row-major like out
  float* vpad = o + mp * dp;                     // V block padded to [bk][dp] when D % W != 0
  float* mrow = vpad + (dp != D ? bk * dp : 0);  // running max [mp]
  float* lrow = mrow + mp;                       // running sum [mp]
  float* arow = lrow + mp;                       // rescale factor of O's rows [mp]

  const int64_t ldk = p.k_rows.n, ldv = p.v_rows.n, ldo = p.out_rows.n;
  const int64_t kv_end = start_query_block(p, q, bh, q0, rows, mp, qt, mrow, lrow);
  if (kv_end == 0) std::fill(o, o + rows * dp, 0.0f);
  const float* kb = k + head_start(p, p.k_rows, bh);
  const float* vb = v + head_start(p, p.v_rows, bh);
  for (int64_t j0 = 0; j0 < kv_end; j0 += bk) {
    const int64_t jn = std::min(bk, kv_end - j0);
    const bool first = j0 == 0;  // O and l hold nothing yet: no rescaling
    // On a block the causal diagonal crosses, tiles entirely above it are skipped (and masked).
    const bool diag = p.causal && j0 + jn - 1 > q0;
    const Tri tri = diag ? Tri::n_keys : Tri::none;
    gemm<false>(mp, jn, D, qt, mp, kb + j0 * ldk, ldk, st, mp, false, tri, q0 - j0);
    if (p.bias) add_bias(p, bh, q0, rows, j0, jn, st, mp);
    if (diag) mask_causal(q0, mp, j0, jn, st, mp);

    online_softmax(st, mp, jn, first, diag, q0, j0, mrow, lrow, arow);
    if (!first)  // O = α·O, one factor per query row
      for (int64_t i = 0; i < rows; ++i) {
        const R a = Vec::set1(arow[i]);
        for (int64_t d = 0; d < dp; d += W)
          Vec::store(o + i * dp + d, Vec::mul(Vec::load(o + i * dp + d), a));
      }
    if (p.dropout_p > 0.0f) dropout_factors(p, bh, q0, rows, j0, jn, st, mp, true);
    // O[i][d] (+)= Σ_j Pᵀ[j][i]·V[j][d]: head size in the lanes, so O comes out row-major.
    const float* vj = vb + j0 * ldv;
    int64_t ldvj = ldv;
    if (dp != D) {
      for (int64_t j = 0; j < jn; ++j) {
        std::memcpy(vpad + j * dp, vj + j * ldv, D * sizeof(float));
        std::fill(vpad + j * dp + D, vpad + (j + 1) * dp, 0.0f);
      }
      vj = vpad, ldvj = dp;
    }
    gemm<true>(dp, rows, jn, vj, ldvj, st, mp, o, dp, !first, diag ? Tri::k_keys_by_n : Tri::none,
               q0 - j0);
  }

  float* lb = lse + bh * nq + q0;
  float* ob = out + head_start(p, p.out_rows, bh) + q0 * ldo;
  for (int64_t i = 0; i < rows; ++i) {
    const float l = lrow[i];
    lb[i] = l > 0.0f ? mrow[i] + std::log(l) : kNegInf;
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;  // a row with no attended key: zeros
    const R f = Vec::set1(inv);
    int64_t d = 0;
    for (; d + W <= D; d += W) Vec::store(ob + i * ldo + d, Vec::mul(Vec::load(o + i * dp + d), f));
    for (; d < D; ++d) ob[i * ldo + d] = o[i * dp + d] * inv;
  }
}

// ---- backward -----------------------------------------------------------------------------------

struct BackwardLayout {
  int64_t nqb, bq, dp;  // query blocks, rows per block (= ld of the transposed packs), padded D
  bool pad;             // D is not a multiple of W: row-major operands are copied with padding
  size_t qt, dot, qp, dop, dq, lse, delta, kp, dk, dv, st, dpt, zt, total;  // offsets in floats
};

BackwardLayout backward_layout(const FlashParams& p, int64_t bq, int64_t bk) {
  BackwardLayout l{};
  // A head shorter than a block gets a block of its own length: padding rows cost strided
  // stores in the packs and rows in every product.
  l.bq = round_up(std::min(bq, p.nq), Vec::W);
  l.nqb = (p.nq + l.bq - 1) / l.bq;
  l.dp = round_up(p.d, Vec::W);
  l.pad = l.dp != p.d;
  const size_t rows = static_cast<size_t>(l.nqb * l.bq), dp = l.dp, d = p.d;
  const size_t bkz = bk;
  size_t at = 0;
  auto take = [&](size_t n) {
    const size_t o = at;
    at += (n + 15) / 16 * 16;  // keep every buffer 64-byte aligned
    return o;
  };
  l.qt = take(rows * d);
  l.dot = take(rows * d);
  l.qp = take(l.pad ? rows * dp : 0);
  l.dop = take(l.pad ? rows * dp : 0);
  l.dq = take(l.pad ? rows * dp : 0);
  l.lse = take(rows);
  l.delta = take(rows);
  l.kp = take(l.pad ? bkz * dp : 0);
  l.dk = take(bkz * dp);
  l.dv = take(bkz * dp);
  l.st = take(bkz * l.bq);
  l.dpt = take(bkz * l.bq);
  l.zt = take(p.dropout_p > 0.0f ? bkz * l.bq : 0);
  l.total = at;
  return l;
}

size_t backward_workspace(const FlashParams& p, int64_t bq, int64_t bk) {
  return backward_layout(p, bq, bk).total;
}

// Starts the backward of one head: per query block of bq rows, Qᵀ·scale and dOᵀ ([D][bq] each,
// padding rows zero), δ = rowsum(dO∘O) and the lse with +inf for a row that attended no key (and
// for padding), so that its P is 0.
void start_backward_head(const FlashParams& p, const float* qh, const float* oh, const float* doh,
                         const float* lh, int64_t nqb, int64_t bq, float* qt, float* dot,
                         float* delta, float* lse_s) {
  const int64_t D = p.d, nq = p.nq, ldq = p.q_rows.n, ldo = p.out_rows.n;
  for (int64_t qb = 0; qb < nqb; ++qb) {
    const int64_t i0 = qb * bq, rows = std::min(bq, nq - i0);
    float* qtb = qt + qb * D * bq;
    float* dotb = dot + qb * D * bq;
    transpose(qh + i0 * ldq, ldq, qtb, bq, rows, D, p.scale);
    transpose(doh + i0 * ldo, ldo, dotb, bq, rows, D, 1.0f);
    for (int64_t i = 0; i < rows; ++i) {
      const float* dr = doh + (i0 + i) * ldo;
      const float* orow = oh + (i0 + i) * ldo;
      float dl = 0.0f;
      for (int64_t d = 0; d < D; ++d) dl += dr[d] * orow[d];
      delta[i0 + i] = dl;
      lse_s[i0 + i] = lh[i0 + i] != kNegInf ? lh[i0 + i] : kInf;
    }
    for (int64_t i = rows; i < bq; ++i) {  // padding: zeros, and P = 0
      for (int64_t d = 0; d < D; ++d) qtb[d * bq + i] = dotb[d * bq + i] = 0.0f;
      delta[i0 + i] = 0.0f;
      lse_s[i0 + i] = kInf;
    }
  }
}

// From the scores Sᵀ (in st) and dPᵀ (in dpt) of query rows i0.. (rows of them, mp padded) and
// keys j0.. (jn): (P∘Z)ᵀ into st and dSᵀ·scale into dpt, Z the dropout factors (written to zt).
FLASH_INLINE void probabilities_and_ds(const FlashParams& p, int64_t bh, int64_t i0, int64_t rows,
                                       int64_t mp, int64_t j0, int64_t jn, bool diag,
                                       const float* lse_s, const float* delta, float* st,
                                       float* dpt, float* zt, int64_t bq) {
  using R = typename Vec::R;
  constexpr int W = Vec::W;
  const int64_t dg = i0 - j0;
  if (p.bias) add_bias(p, bh, i0, rows, j0, jn, st, bq);
  if (diag) mask_causal(i0, mp, j0, jn, st, bq);
  const bool drop = p.dropout_p > 0.0f;
  if (drop) dropout_factors(p, bh, i0, rows, j0, jn, zt, bq, false);
  const R scale = Vec::set1(p.scale);
  for (int64_t i = 0; i < mp; i += W) {
    // Keys j >= j_lim are masked for all W rows and their dP may not have been computed (it
    // may be garbage, even NaN): P and dS are stored as 0 without reading it.
    const int64_t j_lim = diag ? std::clamp<int64_t>(i + W + dg, 0, jn) : jn;
    for (int64_t j = j_lim; j < jn; ++j) {
      Vec::store(st + j * bq + i, Vec::zero());
      Vec::store(dpt + j * bq + i, Vec::zero());
    }
    const R ls = Vec::load(lse_s + i0 + i);
    const R dl = Vec::load(delta + i0 + i);
    for (int64_t j = 0; j < j_lim; ++j) {
      float* s = st + j * bq + i;
      float* g = dpt + j * bq + i;
      const R pr = Vec::exp(Vec::sub(Vec::load(s), ls));
      R dpv = Vec::load(g);
      if (drop) {
        const R z = Vec::load(zt + j * bq + i);
        dpv = Vec::mul(dpv, z);
        Vec::store(s, Vec::mul(pr, z));
      } else {
        Vec::store(s, pr);
      }
      Vec::store(g, Vec::mul(Vec::mul(pr, Vec::sub(dpv, dl)), scale));
    }
  }
}

void backward_head(const FlashParams& p, const float* q, const float* k, const float* v,
                   const float* out, const float* lse, const float* dout, float* dq, float* dk,
                   float* dv, int64_t bh, int64_t bq_in, int64_t bk, float* ws) {
  constexpr int W = Vec::W;
  const BackwardLayout L = backward_layout(p, bq_in, bk);
  const int64_t D = p.d, nq = p.nq, nk = p.nk, bq = L.bq, dp = L.dp;
  // Row strides: q and dq, k and dk, v and dv, out and dout share a layout.
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

  float* qt = ws + L.qt;    // per query block: Qᵀ·scale [D][bq]
  float* dot = ws + L.dot;  // per query block: dOᵀ [D][bq]
  // Row-major [rows][dp] operands: the inputs themselves when D is a multiple of W.
  const float* qp = L.pad ? ws + L.qp : qh;
  const float* dop = L.pad ? ws + L.dop : doh;
  float* dqa = L.pad ? ws + L.dq : dqh;
  const int64_t ldqp = L.pad ? dp : ldq, ldop = L.pad ? dp : ldo, lddq = L.pad ? dp : ldq;
  float* lse_s = ws + L.lse;  // lse, +inf for a row with no attended key (its P is then 0)
  float* delta = ws + L.delta;
  float* dka = ws + L.dk;
  float* dva = ws + L.dv;
  float* st = ws + L.st;    // Sᵀ, then (P∘Z)ᵀ [bk][bq]
  float* dpt = ws + L.dpt;  // dPᵀ, then dSᵀ·scale [bk][bq]
  float* zt = ws + L.zt;    // dropout factors [bk][bq]

  start_backward_head(p, qh, oh, doh, lh, L.nqb, bq, qt, dot, delta, lse_s);
  if (L.pad) {
    float* qpw = ws + L.qp;
    float* dopw = ws + L.dop;
    for (int64_t i = 0; i < nq; ++i)
      for (int64_t d = 0; d < dp; ++d) {
        qpw[i * dp + d] = d < D ? qh[i * ldq + d] : 0.0f;
        dopw[i * dp + d] = d < D ? doh[i * ldo + d] : 0.0f;
      }
  }
  for (int64_t i = 0; i < nq; ++i) std::fill(dqa + i * lddq, dqa + i * lddq + dp, 0.0f);

  int64_t kv_end = key_end(p, bh);
  if (p.causal) kv_end = std::min(kv_end, nq);  // keys j >= Nq are seen by no query
  for (int64_t j0 = 0; j0 < kv_end; j0 += bk) {
    const int64_t jn = std::min(bk, kv_end - j0);
    const float* kp = kh + j0 * ldk;  // [jn][dp], ld ldkp
    int64_t ldkp = ldk;
    if (L.pad) {
      float* kpw = ws + L.kp;
      for (int64_t j = 0; j < jn; ++j)
        for (int64_t d = 0; d < dp; ++d) kpw[j * dp + d] = d < D ? kp[j * ldk + d] : 0.0f;
      kp = kpw, ldkp = dp;
    }
    std::fill(dka, dka + jn * dp, 0.0f);
    std::fill(dva, dva + jn * dp, 0.0f);
    for (int64_t qb = p.causal ? j0 / bq : 0; qb < L.nqb; ++qb) {
      const int64_t i0 = qb * bq, rows = std::min(bq, nq - i0);
      const int64_t mp = round_up(rows, W);
      const bool diag = p.causal && j0 + jn - 1 > i0;
      const int64_t dg = i0 - j0;
      const Tri tri = diag ? Tri::n_keys : Tri::none;
      gemm<false>(mp, jn, D, qt + qb * D * bq, bq, kh + j0 * ldk, ldk, st, bq, false, tri, dg);
      gemm<false>(mp, jn, D, dot + qb * D * bq, bq, vh + j0 * ldv, ldv, dpt, bq, false, tri, dg);
      probabilities_and_ds(p, bh, i0, rows, mp, j0, jn, diag, lse_s, delta, st, dpt, zt, bq);
      // dV += (P∘Z)ᵀ·dO, dK += dSᵀ·Q (lanes over d), dQ += dS·K.
      const Tri by_query = diag ? Tri::k_queries : Tri::none;
      gemm<false>(dp, jn, rows, dop + i0 * ldop, ldop, st, bq, dva, dp, true, by_query, dg);
      gemm<false>(dp, jn, rows, qp + i0 * ldqp, ldqp, dpt, bq, dka, dp, true, by_query, dg);
      gemm<true>(dp, rows, jn, kp, ldkp, dpt, bq, dqa + i0 * lddq, lddq, true,
                 diag ? Tri::k_keys_by_n : Tri::none, dg);
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
  if (L.pad)
    for (int64_t i = 0; i < nq; ++i) std::memcpy(dqh + i * ldq, dqa + i * dp, D * sizeof(float));
}

#undef FLASH_INLINE

}  // namespace
