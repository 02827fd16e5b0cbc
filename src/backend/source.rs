//! The kernel sources of the GPU backends, embedded at build time from `kernels/`.
//!
//! Each family has a CUDA C file (compiled with NVRTC at run time, with `kernels/common.cuh` put
//! in front: [`Family::cuda_source`]) and a WGSL twin with the same entry names and argument order.
//! An entry's arguments are the family's bindings it uses, in binding order, then the family's
//! `Params` struct (the uniform in WGSL, the last argument, by value, in CUDA), so both APIs
//! launch the same way ([`crate::backend::device::GpuDevice::launch`]). [`ENTRIES`] records which
//! bindings each entry uses.

/// `kernels/common.cuh`: the helpers every `.cu` file shares (flattened block and thread ids,
/// block sums), put in front of each file at load time since NVRTC is given no include path.
pub const COMMON_CUH: &str = include_str!("../../kernels/common.cuh");

/// A kernel family: one `.cu` and one `.wgsl` file in `kernels/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// L-hop frontier expansion over CSR into ball bitsets, and their compaction into member lists (`kernels/reach.*`).
    Reach,
    /// Batched marginal gains and the covered-set update (`kernels/gains.*`).
    Gains,
    /// Batched power iteration for spectral norms (`kernels/spmv.*`).
    Spmv,
    /// GO-graph builder: intersection counts and threshold per target (`kernels/jaccard.*`).
    Jaccard,
    /// The GEARS trainer's ops: GEMM, BatchNorm, SpMM, Adam, ... (`kernels/gears.*`).
    Gears,
}

impl Family {
    /// Every family.
    pub const ALL: [Family; 5] = [Family::Reach, Family::Gains, Family::Spmv, Family::Jaccard, Family::Gears];

    /// File stem in `kernels/`.
    pub fn name(self) -> &'static str {
        match self {
            Family::Reach => "reach",
            Family::Gains => "gains",
            Family::Spmv => "spmv",
            Family::Jaccard => "jaccard",
            Family::Gears => "gears",
        }
    }

    /// The family's CUDA C file as written (without [`COMMON_CUH`]).
    pub fn cuda(self) -> &'static str {
        match self {
            Family::Reach => include_str!("../../kernels/reach.cu"),
            Family::Gains => include_str!("../../kernels/gains.cu"),
            Family::Spmv => include_str!("../../kernels/spmv.cu"),
            Family::Jaccard => include_str!("../../kernels/jaccard.cu"),
            Family::Gears => include_str!("../../kernels/gears.cu"),
        }
    }

    /// The CUDA C source NVRTC compiles: [`COMMON_CUH`], then the family's file, with `#line`
    /// directives so compile errors name `common.cuh` or the `.cu` file and its own line numbers.
    pub fn cuda_source(self) -> String {
        format!("#line 1 \"common.cuh\"\n{COMMON_CUH}\n#line 1 \"{}.cu\"\n{}", self.name(), self.cuda())
    }

    /// The WGSL source.
    pub fn wgsl(self) -> &'static str {
        match self {
            Family::Reach => include_str!("../../kernels/reach.wgsl"),
            Family::Gains => include_str!("../../kernels/gains.wgsl"),
            Family::Spmv => include_str!("../../kernels/spmv.wgsl"),
            Family::Jaccard => include_str!("../../kernels/jaccard.wgsl"),
            Family::Gears => include_str!("../../kernels/gears.wgsl"),
        }
    }
}

/// One kernel entry point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Family (source file).
    pub family: Family,
    /// Entry name, identical in `.cu` and `.wgsl`.
    pub name: &'static str,
    /// WGSL binding numbers of its buffer arguments, in argument order; the uniform params binding
    /// (the family's last binding) follows them.
    pub bindings: &'static [u32],
    /// Binding number of the params uniform.
    pub params_binding: u32,
}

/// `reach_expand_u32`: next |= neighbours(frontier) & !visited.
pub const REACH_EXPAND: Entry = Entry { family: Family::Reach, name: "reach_expand_u32", bindings: &[0, 1, 2, 3, 4], params_binding: 7 };
/// `reach_advance_u32`: frontier = next & !visited; visited |= frontier; next = 0.
pub const REACH_ADVANCE: Entry = Entry { family: Family::Reach, name: "reach_advance_u32", bindings: &[2, 3, 4], params_binding: 7 };
/// `reach_count_u32`: members per ball row (one workgroup per row).
pub const REACH_COUNT: Entry = Entry { family: Family::Reach, name: "reach_count_u32", bindings: &[3, 5], params_binding: 7 };
/// `reach_compact_u32`: ball rows to ascending member lists at given offsets (one workgroup per row).
pub const REACH_COMPACT: Entry = Entry { family: Family::Reach, name: "reach_compact_u32", bindings: &[3, 5, 6], params_binding: 7 };
/// `gains_dense_u32`: gains of dense rows.
pub const GAINS_DENSE: Entry = Entry { family: Family::Gains, name: "gains_dense_u32", bindings: &[0, 2, 3, 4, 5], params_binding: 6 };
/// `gains_sparse_u32`: gains of sparse member lists.
pub const GAINS_SPARSE: Entry = Entry { family: Family::Gains, name: "gains_sparse_u32", bindings: &[0, 1, 2, 3, 4, 5], params_binding: 6 };
/// `commit_dense_u32`: covered |= row.
pub const COMMIT_DENSE: Entry = Entry { family: Family::Gains, name: "commit_dense_u32", bindings: &[0, 2], params_binding: 6 };
/// `commit_sparse_u32`: covered |= members of a list.
pub const COMMIT_SPARSE: Entry = Entry { family: Family::Gains, name: "commit_sparse_u32", bindings: &[0, 1, 2], params_binding: 6 };
/// `spmv_power_f32`: batched power iteration, one workgroup per set.
pub const SPMV_POWER: Entry = Entry { family: Family::Spmv, name: "spmv_power_f32", bindings: &[0, 1, 2, 3, 4, 5], params_binding: 6 };

/// `jaccard_candidates_u32`: passing (source, count) pairs of a tile of targets, one workgroup per target.
pub const JACCARD_CANDIDATES: Entry = Entry { family: Family::Jaccard, name: "jaccard_candidates_u32", bindings: &[0, 1, 2, 3, 4, 5, 6], params_binding: 7 };


/// Entries of the GEARS trainer family (`kernels/gears.*`; see the file header for each).
pub mod gears {
    use super::{Entry, Family};
    /// `gears_fill`.
    pub const FILL: Entry = Entry { family: Family::Gears, name: "gears_fill", bindings: &[0], params_binding: 9 };
    /// `gears_axpbyz`.
    pub const AXPBYZ: Entry = Entry { family: Family::Gears, name: "gears_axpbyz", bindings: &[0, 1, 2], params_binding: 9 };
    /// `gears_rows_bcast`.
    pub const ROWS_BCAST: Entry = Entry { family: Family::Gears, name: "gears_rows_bcast", bindings: &[0, 1], params_binding: 9 };
    /// `gears_gemm`.
    pub const GEMM: Entry = Entry { family: Family::Gears, name: "gears_gemm", bindings: &[0, 1, 2], params_binding: 9 };
    /// `gears_colsum`.
    pub const COLSUM: Entry = Entry { family: Family::Gears, name: "gears_colsum", bindings: &[0, 1], params_binding: 9 };
    /// `gears_bn_stats`.
    pub const BN_STATS: Entry = Entry { family: Family::Gears, name: "gears_bn_stats", bindings: &[0, 1, 2], params_binding: 9 };
    /// `gears_bn_apply`.
    pub const BN_APPLY: Entry = Entry { family: Family::Gears, name: "gears_bn_apply", bindings: &[0, 1, 2, 3, 4, 5], params_binding: 9 };
    /// `gears_bn_eval`: eval-mode BatchNorm with the running statistics (optionally with ReLU).
    pub const BN_EVAL: Entry = Entry { family: Family::Gears, name: "gears_bn_eval", bindings: &[0, 1, 2, 3, 4, 5], params_binding: 9 };
    /// `gears_bn_running`.
    pub const BN_RUNNING: Entry = Entry { family: Family::Gears, name: "gears_bn_running", bindings: &[0, 1, 2], params_binding: 9 };
    /// `gears_bn_bwd_reduce`.
    pub const BN_BWD_REDUCE: Entry = Entry { family: Family::Gears, name: "gears_bn_bwd_reduce", bindings: &[0, 1, 2, 3, 4], params_binding: 9 };
    /// `gears_bn_bwd_dx`.
    pub const BN_BWD_DX: Entry = Entry { family: Family::Gears, name: "gears_bn_bwd_dx", bindings: &[0, 1, 2, 3, 4, 5], params_binding: 9 };
    /// `gears_relu_bwd`.
    pub const RELU_BWD: Entry = Entry { family: Family::Gears, name: "gears_relu_bwd", bindings: &[0, 1], params_binding: 9 };
    /// `gears_spmm`.
    pub const SPMM: Entry = Entry { family: Family::Gears, name: "gears_spmm", bindings: &[0, 1, 2, 6, 7], params_binding: 9 };
    /// `gears_grid`.
    pub const GRID: Entry = Entry { family: Family::Gears, name: "gears_grid", bindings: &[0, 1, 2, 6], params_binding: 9 };
    /// `gears_indv1_fwd`.
    pub const INDV1_FWD: Entry = Entry { family: Family::Gears, name: "gears_indv1_fwd", bindings: &[0, 1, 2, 3], params_binding: 9 };
    /// `gears_indv1_bwd_w`.
    pub const INDV1_BWD_W: Entry = Entry { family: Family::Gears, name: "gears_indv1_bwd_w", bindings: &[0, 1, 2, 3], params_binding: 9 };
    /// `gears_indv1_bwd_x`.
    pub const INDV1_BWD_X: Entry = Entry { family: Family::Gears, name: "gears_indv1_bwd_x", bindings: &[0, 1, 2], params_binding: 9 };
    /// `gears_indv2_fwd`.
    pub const INDV2_FWD: Entry = Entry { family: Family::Gears, name: "gears_indv2_fwd", bindings: &[0, 1, 2, 3], params_binding: 9 };
    /// `gears_indv2_bwd`.
    pub const INDV2_BWD: Entry = Entry { family: Family::Gears, name: "gears_indv2_bwd", bindings: &[0, 1, 2, 3, 4, 5], params_binding: 9 };
    /// `gears_adam`.
    pub const ADAM: Entry = Entry { family: Family::Gears, name: "gears_adam", bindings: &[0, 1, 2, 3], params_binding: 9 };
    /// `gears_renorm`.
    pub const RENORM: Entry = Entry { family: Family::Gears, name: "gears_renorm", bindings: &[0], params_binding: 9 };
    /// Every entry of the family.
    pub const ALL: [Entry; 21] = [FILL, AXPBYZ, ROWS_BCAST, GEMM, COLSUM, BN_STATS, BN_APPLY, BN_EVAL, BN_RUNNING, BN_BWD_REDUCE, BN_BWD_DX, RELU_BWD, SPMM, GRID, INDV1_FWD, INDV1_BWD_W, INDV1_BWD_X, INDV2_FWD, INDV2_BWD, ADAM, RENORM];
}

/// Every entry point of every family.
pub const ENTRIES: [Entry; 31] = {
    let base = [REACH_EXPAND, REACH_ADVANCE, REACH_COUNT, REACH_COMPACT, GAINS_DENSE, GAINS_SPARSE, COMMIT_DENSE, COMMIT_SPARSE, SPMV_POWER, JACCARD_CANDIDATES];
    let mut out = [REACH_EXPAND; 31];
    let mut i = 0;
    while i < base.len() {
        out[i] = base[i];
        i += 1;
    }
    while i < out.len() {
        out[i] = gears::ALL[i - base.len()];
        i += 1;
    }
    out
};

/// Threads per workgroup (block) of every entry.
pub const WORKGROUP: u32 = 256;

/// Params of the reach family (the `Params` struct of `kernels/reach.{cu,wgsl}`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ReachParams {
    /// Graph nodes.
    pub n_nodes: u32,
    /// u32 words per bitset row.
    pub words: u32,
    /// Rows (seed sets) in this tile, or in this compaction launch.
    pub n_rows: u32,
    /// The tile row that a compaction launch's row 0 is (0 for the other entries).
    pub first_row: u32,
}

/// Params of the gains family.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct GainsParams {
    /// u32 words per bitset row (and of the covered set).
    pub words: u32,
    /// Ids in this launch.
    pub n_ids: u32,
    /// 1 to sum node weights, 0 to count members.
    pub weighted: u32,
    /// Row / list added to the covered set by the commit entries.
    pub commit_id: u32,
}

/// Params of the spmv family.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct SpmvParams {
    /// Graph nodes.
    pub n_nodes: u32,
    /// Sets in this launch.
    pub n_sets: u32,
    /// Total members over the sets (length of each of x, y, z).
    pub total: u32,
    /// Iteration cap.
    pub max_iter: u32,
    /// Relative tolerance on sigma.
    pub tol: f32,
    /// Iterations per launch (the host relaunches until every set has stopped).
    pub iters: u32,
    /// Unused (uniform size multiple of 16).
    pub pad: [u32; 2],
}

/// Params of the jaccard family.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct JaccardParams {
    /// Gene id of the tile's first target.
    pub first_target: u32,
    /// Targets in this tile (one workgroup each).
    pub n_targets: u32,
    /// Genes of the index (length of a counter row).
    pub n_genes: u32,
    /// Terms of the index.
    pub n_terms: u32,
}

/// Params of the gears family: generic fields whose meaning each entry documents
/// (`kernels/gears.wgsl` header). Passed as the WGSL uniform and, by value, as the last CUDA argument.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct GearsParams {
    /// Unsigned parameters u0..u11.
    pub u: [u32; 12],
    /// Float parameters f0..f11.
    pub f: [f32; 12],
}
