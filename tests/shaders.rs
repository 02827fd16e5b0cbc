//! Kernel sources checked without a device: every WGSL file parses and validates with naga and
//! declares each entry of `backend::source::ENTRIES` with the documented bindings; every entry is
//! also declared in the `.cu` twin, which takes the same `Params` struct by value as its last
//! argument and uses the helpers of `kernels/common.cuh` instead of its own; with NVRTC present,
//! every `.cu` compiles with `common.cuh` put in front, as the CUDA backend loads it (set
//! `GRAPHREACH_REQUIRE_NVRTC=1` to fail instead of skipping when NVRTC is missing).

use graphreach::backend::source::{Family, COMMON_CUH, ENTRIES};

fn validate(family: Family) -> naga::Module {
    let module = naga::front::wgsl::parse_str(family.wgsl()).unwrap_or_else(|e| panic!("kernels/{}.wgsl: {}", family.name(), e.emit_to_string(family.wgsl())));
    naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::empty())
        .validate(&module)
        .unwrap_or_else(|e| panic!("kernels/{}.wgsl does not validate: {e:?}", family.name()));
    module
}

#[test]
fn every_wgsl_file_validates_with_naga() {
    for f in Family::ALL {
        validate(f);
    }
}

#[test]
fn entries_exist_in_wgsl_and_cuda_with_the_documented_bindings() {
    for e in ENTRIES {
        let module = validate(e.family);
        let ep = module.entry_points.iter().find(|p| p.name == e.name).unwrap_or_else(|| panic!("{} missing from kernels/{}.wgsl", e.name, e.family.name()));
        assert_eq!(ep.workgroup_size, [256, 1, 1], "{}", e.name);
        let mut bindings: Vec<u32> = module.global_variables.iter().filter_map(|(_, g)| g.binding.as_ref().map(|b| b.binding)).collect();
        bindings.sort_unstable();
        assert!(e.bindings.iter().chain([&e.params_binding]).all(|b| bindings.contains(b)), "{}: bindings {:?} not all declared", e.name, e.bindings);
        assert_eq!(*bindings.last().unwrap(), e.params_binding, "{}: params must be the last binding", e.name);
        let cu = e.family.cuda();
        let at = cu.find(&format!("void {}(", e.name)).unwrap_or_else(|| panic!("{} missing from kernels/{}.cu", e.name, e.family.name()));
        let signature = &cu[at..at + cu[at..].find(')').expect("closing parenthesis")];
        let args: Vec<&str> = signature.split(',').map(str::trim).collect();
        assert_eq!(args.len(), e.bindings.len() + 1, "{}: {} buffers then Params expected in kernels/{}.cu", e.name, e.bindings.len(), e.family.name());
        assert_eq!(*args.last().unwrap(), "const Params p", "{}: Params by value must be the last argument", e.name);
    }
}

/// Fields of `struct Params` in a `.cu` file (all 4 bytes wide).
fn cuda_params_words(cu: &str) -> usize {
    let at = cu.find("struct Params {").expect("struct Params");
    let body = &cu[at + 15..at + cu[at..].find("};").expect("end of struct Params")];
    body.split(';').filter(|d| !d.trim().is_empty()).map(|d| d.split(',').count()).sum()
}

#[test]
fn cuda_files_share_common_cuh_and_declare_the_wgsl_params_layout() {
    for name in ["flat_block", "flat_thread", "block_sum", "typedef unsigned int u32"] {
        assert!(COMMON_CUH.contains(name), "common.cuh lacks {name}");
    }
    for f in Family::ALL {
        let cu = f.cuda();
        for own in ["__device__ __forceinline__ unsigned int flat_block", "block_id()", "gid()", "tid()", "reduce256", "typedef unsigned int u32", "blockIdx.y * gridDim.x"] {
            assert!(!cu.contains(own), "kernels/{}.cu defines its own {own:?}: use common.cuh", f.name());
        }
        let src = f.cuda_source();
        assert!(src.starts_with("#line 1 \"common.cuh\"") && src.contains(&format!("#line 1 \"{}.cu\"", f.name())), "{}", f.name());
        let module = validate(f);
        let (_, ty) = module.types.iter().find(|(_, t)| t.name.as_deref() == Some("Params")).expect("Params struct");
        let wgsl = ty.inner.size(module.to_ctx()) as usize;
        assert_eq!(4 * cuda_params_words(cu), wgsl, "kernels/{}: CUDA and WGSL Params differ in size", f.name());
    }
}

#[test]
fn params_structs_match_wgsl_sizes() {
    use graphreach::backend::source::{GainsParams, GearsParams, JaccardParams, ReachParams, SpmvParams};
    for (f, rust) in [(Family::Reach, std::mem::size_of::<ReachParams>()), (Family::Gains, std::mem::size_of::<GainsParams>()), (Family::Spmv, std::mem::size_of::<SpmvParams>()), (Family::Jaccard, std::mem::size_of::<JaccardParams>()), (Family::Gears, std::mem::size_of::<GearsParams>())] {
        let module = validate(f);
        let (_, ty) = module.types.iter().find(|(_, t)| t.name.as_deref() == Some("Params")).expect("Params struct");
        let wgsl = ty.inner.size(module.to_ctx()) as usize;
        assert!(rust >= wgsl && rust.is_multiple_of(16), "{}: Rust params {rust} bytes, WGSL {wgsl}", f.name());
    }
}

#[test]
fn cuda_kernels_compile_with_nvrtc_where_present() {
    match graphreach::backend::cuda::check_kernels("compute_90") {
        Ok(v) => {
            assert_eq!(v.len(), Family::ALL.len());
            for k in v {
                eprintln!("nvrtc: kernels/{}.cu -> {} bytes of PTX for {}", k.family, k.ptx_bytes, k.arch);
                assert!(k.ptx_bytes > 0);
            }
        }
        Err(e) if e.to_string().contains("NVRTC failed") => panic!("{e}"),
        Err(e) if std::env::var("GRAPHREACH_REQUIRE_NVRTC").as_deref() == Ok("1") => panic!("GRAPHREACH_REQUIRE_NVRTC=1 but: {e}"),
        Err(e) => eprintln!("SKIPPED NVRTC compile check: {e}"),
    }
}
