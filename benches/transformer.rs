//! Transformer inference, the workloads of `shared/bench/pytorch/transformer.py`
//! (run both with `bench/transformer_compare.sh`, which reports the ratios):
//! - `minilm_forward_8x128`: the real all-MiniLM-L6-v2 (`../shared/models`), batch 8 × 128
//!   random token ids in 1000..30000, last hidden state then the mean over tokens;
//! - `bert_l2_h128_forward_8x128`: a random BERT with 2 layers, hidden 128, 2 heads,
//!   intermediate 512 (4 × hidden; transformers' `BertConfig` defaults otherwise), same batch;
//! - `gpt2_124m_greedy_cache_64`: a random GPT-2 of the 124M shape (n_embd 768, 12 layers,
//!   12 heads, vocab 50,257, 1,024 positions), greedy decoding of 64 new tokens from a
//!   16-token prompt with the key/value cache (one iteration = 64 tokens).
//!
//! - `minilm_lig_64tok_50steps`: Layer Integrated Gradients on MiniLM's embedding layer
//!   (`bert.embeddings` output, as Captum's `LayerIntegratedGradients(f, model.embeddings)`),
//!   one sequence of 64 tokens against `[CLS] 0… [SEP]`, target = dimension 0 of the
//!   mean-pooled last hidden state, 50 Gauss–Legendre points, 10 path points per pass
//!   (Captum's `internal_batch_size`).
//!
//! Threads come from `RAYON_NUM_THREADS` (the script runs 1 and 2).

use criterion::{criterion_group, criterion_main, Criterion};
use glassbox::explain_text::BertMeanPooledModel;
use glassbox_autograd::no_grad;
use glassbox_explain::gradient::{Approximation, BatchCap};
use glassbox_explain::text::{layer_integrated_gradients, LigRule, TextLigConfig};
use glassbox_hf::{
    Batch, BertConfig, BertForSequenceClassification, BertModel, Checkpoint, Decoding,
    GenerateOptions, Gpt2Config, Gpt2LmHeadModel,
};
use glassbox_tensor::rng::Rng;
use glassbox_tensor::Tensor;

/// The allocator the `glassbox` binary ships with, configured the same way.
#[path = "../crates/cli/src/allocator.rs"]
mod allocator;

fn random_ids(rng: &mut Rng, rows: usize, len: usize, lo: u32, hi: u32) -> Vec<Vec<u32>> {
    (0..rows)
        .map(|_| {
            (0..len)
                .map(|_| lo + (rng.next_u64() % u64::from(hi - lo)) as u32)
                .collect()
        })
        .collect()
}

/// GPT-2 124M with N(0, 0.02) weights (transformers' `initializer_range`), LayerNorms at
/// one/zero, as `GPT2LMHeadModel(GPT2Config())` builds it.
fn gpt2_124m() -> Gpt2LmHeadModel {
    let config = Gpt2Config::from_json_str(
        r#"{"model_type": "gpt2", "vocab_size": 50257, "n_positions": 1024, "n_embd": 768,
            "n_layer": 12, "n_head": 12, "activation_function": "gelu_new"}"#,
        "GPT2Config()",
    )
    .expect("config");
    let (e, v) = (config.n_embd, config.vocab_size);
    let mut rng = Rng::new(0);
    let mut normal = |shape: &[usize]| Tensor::rand_normal(shape, 0.0, 0.02, &mut rng);
    let mut t: Vec<(String, Tensor)> = vec![
        ("wte.weight".into(), normal(&[v, e])),
        ("wpe.weight".into(), normal(&[config.n_positions, e])),
        ("ln_f.weight".into(), Tensor::ones(&[e])),
        ("ln_f.bias".into(), Tensor::zeros(&[e])),
    ];
    for i in 0..config.n_layer {
        let p = format!("h.{i}.");
        for ln in ["ln_1", "ln_2"] {
            t.push((format!("{p}{ln}.weight"), Tensor::ones(&[e])));
            t.push((format!("{p}{ln}.bias"), Tensor::zeros(&[e])));
        }
        for (name, rows, cols) in [
            ("attn.c_attn", e, 3 * e),
            ("attn.c_proj", e, e),
            ("mlp.c_fc", e, 4 * e),
            ("mlp.c_proj", 4 * e, e),
        ] {
            t.push((format!("{p}{name}.weight"), normal(&[rows, cols])));
            t.push((format!("{p}{name}.bias"), Tensor::zeros(&[cols])));
        }
    }
    let mut ck = Checkpoint::from_tensors("<random GPT-2 124M>", t);
    let model = Gpt2LmHeadModel::from_checkpoint(&mut ck, config).expect("model");
    ck.finish("GPT2LMHeadModel").expect("every key used");
    model
}

fn bench(c: &mut Criterion) {
    allocator::keep_freed_pages();
    assert_eq!(allocator::purge_delay_ms(), allocator::PURGE_DELAY_MS);
    let mut rng = Rng::new(0);
    let ids = random_ids(&mut rng, 8, 128, 1000, 30000);
    let batch = Batch::from_ids(&ids, 0).expect("batch");
    let mut g = c.benchmark_group("transformer");
    g.sample_size(10);

    let minilm_dir = glassbox_testkit::shared_dir().join("models/all-MiniLM-L6-v2");
    match BertModel::from_dir(&minilm_dir) {
        Ok(minilm) => {
            g.bench_function("minilm_forward_8x128", |b| {
                b.iter(|| {
                    no_grad(|| minilm.forward(&batch, Default::default()))
                        .expect("forward")
                        .last_hidden_state
                        .value()
                        .try_mean_axes(&[1], false)
                        .expect("mean")
                })
            });
            let x = ids[0][..64].to_vec();
            let mut base = vec![0u32; 64];
            (base[0], base[63]) = (101, 102);
            let config = TextLigConfig {
                rule: LigRule::Fixed {
                    steps: 50,
                    method: Approximation::GaussLegendre,
                },
                cap: BatchCap::Rows(10),
                ..TextLigConfig::default()
            };
            // Input gradients only, as `torch.autograd.grad` in Captum.
            glassbox::explain_text::freeze_parameters(&minilm);
            let model = BertMeanPooledModel::new(&minilm);
            g.bench_function("minilm_lig_64tok_50steps", |b| {
                b.iter(|| {
                    layer_integrated_gradients(&model, &x, &base, Some(0), &config).expect("lig")
                })
            });
        }
        Err(e) => eprintln!("minilm_forward_8x128 skipped: {e}"),
    }

    let config =
        BertConfig::new(30522, 128, 2, 2, 512, vec!["a".into(), "b".into()]).expect("config");
    let mut tiny = BertForSequenceClassification::new(config, 0).expect("bert");
    glassbox_nn::Module::set_training(&mut tiny, false);
    g.bench_function("bert_l2_h128_forward_8x128", |b| {
        b.iter(|| {
            no_grad(|| tiny.bert.forward(&batch, Default::default()))
                .expect("forward")
                .last_hidden_state
                .value()
        })
    });

    let gpt = gpt2_124m();
    let prompt: Vec<u32> = random_ids(&mut rng, 1, 16, 0, 50257).remove(0);
    let opts = GenerateOptions {
        max_new_tokens: 64,
        decoding: Decoding::Greedy,
        ..GenerateOptions::default()
    };
    g.bench_function("gpt2_124m_greedy_cache_64", |b| {
        b.iter(|| {
            let out = gpt.generate(&prompt, &opts, None).expect("generate");
            assert_eq!(out.ids.len(), 64);
            out
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
