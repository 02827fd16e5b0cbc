//! A training batch on the host: the cells of a batch grouped into groups of identical cells
//! (same condition, same positional variant), each cell's paired control row and own row, and
//! the loss entries. Shared by the CPU step and the device step.

use super::fit::TrainContext;
use super::loss::{autofocus_loss, LossCell, LossOut};
use crate::data::Dataset;
use crate::gears::net::mat::Mat;
use crate::gears::net::model::{ForwardInput, Group, Variant};
use std::collections::HashMap;

/// One training batch on the host, from [`TrainContext::step_batch`].
pub struct StepBatch<'d> {
    /// The groups of identical cells the forward runs on.
    pub input: ForwardInput,
    /// Each cell's paired control row (B x G).
    pub x: Mat<f32>,
    /// Each cell's own row (B x G).
    pub y: Mat<f32>,
    /// Per cell: its group, condition and the genes its loss is taken over.
    pub cells: Vec<LossCell<'d>>,
}

impl StepBatch<'_> {
    /// Whether any cell of the batch is perturbed (Adam leaves the perturbation path alone otherwise).
    pub fn perturbed(&self) -> bool {
        self.input.groups.iter().any(|gr| !gr.perts.is_empty())
    }
}

impl<'a> TrainContext<'a> {
    /// The host side of a training batch: its groups, and the paired control rows (x), the cells'
    /// own rows (y) and per-cell loss entries that [`Self::batch_loss`] needs.
    pub fn step_batch(&self, batch: &[u32]) -> StepBatch<'a> {
        let (input, cell_group) = self.batch_input(batch);
        let g = self.data.n_genes();
        let mut x = Mat::<f32>::zeros(batch.len(), g);
        let mut y = Mat::<f32>::zeros(batch.len(), g);
        for (i, &c) in batch.iter().enumerate() {
            self.data.x.row_dense_into(self.data.ctrl_pairing[c as usize] as usize, x.row_mut(i));
            self.data.x.row_dense_into(c as usize, y.row_mut(i));
        }
        let data: &'a Dataset = self.data;
        let cells = batch
            .iter()
            .zip(&cell_group)
            .map(|(&c, &gr)| {
                let cond = data.cell_condition[c as usize];
                let genes = (cond != 0).then(|| data.de[cond as usize].non_zeros.as_slice());
                LossCell { group: gr, condition: cond, genes }
            })
            .collect();
        StepBatch { input, x, y, cells }
    }

    /// The autofocus loss (and its gradient in δ) of a forward's δ on the batch `b`.
    pub fn batch_loss(&self, delta: &Mat<f32>, b: &StepBatch) -> LossOut<f32> {
        let mu: Vec<f32> = self.means.ctrl.iter().map(|&v| v as f32).collect();
        autofocus_loss(delta, &b.cells, &b.x, &b.y, &mu)
    }

    /// Groups the cells of a batch (same condition and positional variant) and returns each cell's group.
    pub fn batch_input(&self, batch: &[u32]) -> (ForwardInput, Vec<usize>) {
        let b = batch.len();
        let quirk = self.cfg.pos_quirk && b > 1;
        let variants = if quirk {
            vec![Variant { propagate: true, weight: 1.0 }, Variant { propagate: false, weight: (b - 1) as f64 }]
        } else {
            vec![Variant { propagate: true, weight: b as f64 }]
        };
        let mut groups: Vec<Group> = Vec::new();
        let mut index: HashMap<(usize, u32), usize> = HashMap::new();
        let mut cell_group = Vec::with_capacity(b);
        for (i, &c) in batch.iter().enumerate() {
            let cond = self.data.cell_condition[c as usize];
            let variant = usize::from(quirk && i > 0);
            let gi = *index.entry((variant, cond)).or_insert_with(|| {
                groups.push(Group { perts: self.cond_nodes.get(&cond).cloned().unwrap_or_default(), weight: 0.0, variant });
                groups.len() - 1
            });
            groups[gi].weight += 1.0;
            cell_group.push(gi);
        }
        (ForwardInput { variants, groups, n_cells: b }, cell_group)
    }
}
