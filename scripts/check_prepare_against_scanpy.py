# Cross-check of `graphreach prepare` against scanpy (not run in CI; needs anndata + scanpy):
#   graphreach prepare tests/fixtures/papalexi2021_lowmoi_counts.h5ad --out /tmp/gd/pap2.h5ad --cell-type THP-1 --n-hvg 200
#   python3 scripts/check_prepare_against_scanpy.py
# Result (scanpy 1.11.5, anndata 0.12.19): identical 200 HVGs, identical full DE ranking for all 25
# conditions, max |X difference| 9.5e-7.
import anndata as ad, scanpy as sc, numpy as np, warnings
warnings.filterwarnings('ignore')
raw = ad.read_h5ad('tests/fixtures/papalexi2021_lowmoi_counts.h5ad')
raw = raw[raw.obs.condition != 'unassigned'].copy()
sc.pp.normalize_total(raw, target_sum=1e4); sc.pp.log1p(raw)
sc.pp.highly_variable_genes(raw, n_top_genes=200, flavor='seurat')
ours = ad.read_h5ad('/tmp/gd/pap2.h5ad')
hv = set(raw.var_names[raw.var.highly_variable])
og = set(ours.var_names)
print('scanpy hvg', len(hv), 'ours genes', len(og), 'hvg not in ours', len(hv - og), 'ours not in hvg', sorted(og - hv))
# DE on our gene set
sub = raw[:, ours.var_names].copy()
sub.obs['condition_name'] = 'THP-1_' + sub.obs.condition.astype(str) + np.where(sub.obs.condition.astype(str)=='ctrl', '_1', '_1+1')
sc.tl.rank_genes_groups(sub, groupby='condition_name', reference='THP-1_ctrl_1', rankby_abs=True, n_genes=sub.n_vars, use_raw=False, method='t-test')
names = sub.uns['rank_genes_groups']['names']; scores = sub.uns['rank_genes_groups']['scores']
agree = 0; tot = 0; top20 = 0
for g in names.dtype.names:
    s_list = list(names[g]); o_list = list(ours.uns['rank_genes_groups_cov_all'][g])
    tot += 1; agree += s_list == o_list; top20 += set(s_list[:20]) == set(o_list[:20])
print('conditions', tot, 'identical full ranking', agree, 'identical top-20 set', top20)
# X equality
d = np.abs(sub.X.toarray() - ours.X.toarray()).max(); print('max |X diff|', d)
