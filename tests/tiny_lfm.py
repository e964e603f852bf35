"""Build a tiny random LFM2.5-Audio checkpoint offline, laid out like the real hub repo.

The real model is 1.5B parameters and lives on the hub; tests need something that goes through the
same liquid-audio code (config parsing, tokenizer, conformer, LFM2 backbone, depthformer, audio
detokenizer) in well under a second on a CPU. Weights are random, so outputs are gibberish: tests
check types, shapes and control flow, never accuracy.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from safetensors.torch import save_file, save_model
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

if TYPE_CHECKING:
    from liquid_audio.model.lfm2_audio import LFM2AudioConfig

# liquid-audio hard-codes these ids in generation (7, 128, 130); ChatState encodes the first two.
SPECIALS = {
    0: "<|pad|>",
    1: "<|startoftext|>",
    2: "<|endoftext|>",
    6: "<|im_start|>",
    7: "<|im_end|>",
    128: "<|audio_start|>",
    130: "<|text_end|>",
}
VOCAB_SIZE = len(SPECIALS) + 256  # the 256 byte tokens fill the ids the specials leave free
AUDIO_START = 128

PREPROCESSOR = {
    "sample_rate": 16000,
    "normalize": "per_feature",
    "window_size": 0.025,
    "window_stride": 0.01,
    "window": "hann",
    "features": 128,
    "n_fft": 512,
    "log": True,
    "frame_splicing": 1,
    "dither": 1e-05,
    "pad_to": 0,
    "pad_value": 0.0,
}

ENCODER = {
    "feat_in": 128,
    "feat_out": -1,
    "n_layers": 1,
    "d_model": 32,
    "subsampling": "dw_striding",
    "subsampling_factor": 8,  # liquid-audio's mel2emb_len assumes 8
    "subsampling_conv_channels": 16,
    "causal_downsampling": False,
    "reduction": None,
    "reduction_position": None,
    "reduction_factor": 1,
    "ff_expansion_factor": 2,
    "self_attention_model": "rel_pos",
    "n_heads": 2,
    "att_context_size": [-1, -1],
    "xscaling": True,  # exercises the engine's workaround for encoder.py's missing `import math`
    "untie_biases": True,
    "pos_emb_max_len": 5000,
    "conv_kernel_size": 9,
    "conv_norm_type": "batch_norm",
    "conv_context_size": None,
    "dropout": 0.1,
    "dropout_pre_encoder": 0.1,
    "dropout_emb": 0.0,
    "dropout_att": 0.1,
}

LFM = {
    "vocab_size": VOCAB_SIZE,
    "hidden_size": 64,
    "intermediate_size": 128,
    "block_auto_adjust_ff_dim": False,
    "num_hidden_layers": 2,
    "layer_types": ["conv", "full_attention"],
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 4096,
    "tie_word_embeddings": True,
}

# The detokenizer's fused code embedding and output layer are fixed at 512 wide in liquid-audio.
DETOKENIZER = {
    "model_type": "lfm2",
    "vocab_size": 16,
    "hidden_size": 512,
    "intermediate_size": 64,
    "block_auto_adjust_ff_dim": False,
    "num_hidden_layers": 2,
    "layer_types": ["conv", "sliding_attention"],  # llama.cpp naming, renamed by liquid-audio
    "num_attention_heads": 4,
    "num_key_value_heads": 4,
    "max_position_embeddings": 4096,
    "sliding_window": 30,
}


def tiny_config() -> dict:
    return {
        "architectures": ["LFM2AudioModel"],
        "codebooks": 8,
        "tie_audio_embeddings": False,
        "semantic_codebook_factor": 100,
        "codebook_weight": "log",
        "interleaved_n_text": 6,
        "interleaved_n_audio": 12,
        "preprocessor": PREPROCESSOR,
        "encoder": ENCODER,
        "lfm": LFM,
        "depthformer": {"layers": 1, "dim": 64, "tie": True},
    }


def build_tiny_checkpoint(dir: Path, *, prefer_audio: bool = False, seed: int = 0) -> Path:
    """Write a ~3.4M-parameter random checkpoint (plus audio detokenizer) into `dir`; return `dir`.

    prefer_audio: rig the text head so greedy decoding always picks <|audio_start|>, so sequential
    generation (TTS) deterministically switches to audio as the real model does; random weights
    would almost never pick that one token.
    """
    from liquid_audio.model.lfm2_audio import LFM2AudioModel

    from lab.engines.lfm_audio import patch_liquid_audio

    patch_liquid_audio()
    dir = Path(dir)
    dir.mkdir(parents=True, exist_ok=True)
    config = tiny_config()
    (dir / "config.json").write_text(json.dumps(config, indent=2))
    _write_tokenizer(dir)

    torch.manual_seed(seed)
    model = LFM2AudioModel(model_config(config)).eval()
    if prefer_audio:
        _prefer_audio_start(model)
    save_model(model, str(dir / "model.safetensors"), metadata={"format": "pt"})
    _write_detokenizer(dir / "audio_detokenizer")
    return dir


def model_config(config: dict) -> LFM2AudioConfig:
    """The config object LFM2AudioModel.from_pretrained builds from config.json."""
    from liquid_audio.model.conformer.encoder import ConformerEncoderConfig
    from liquid_audio.model.lfm2_audio import DepthformerConfig, LFM2AudioConfig
    from transformers import Lfm2Config

    config = dict(config)
    return LFM2AudioConfig(
        lfm=Lfm2Config(**config.pop("lfm")),
        encoder=ConformerEncoderConfig(**config.pop("encoder")),
        depthformer=DepthformerConfig(**config.pop("depthformer")),
        **config,
    )


def _write_tokenizer(dir: Path) -> None:
    """Byte-level BPE with no merges: every byte is a token, specials sit at the hard-coded ids."""
    free_ids = (i for i in range(VOCAB_SIZE) if i not in SPECIALS)
    vocab = {name: i for i, name in SPECIALS.items()}
    vocab.update(zip(sorted(pre_tokenizers.ByteLevel.alphabet()), free_ids, strict=True))
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(name, special=True, normalized=False) for name in SPECIALS.values()])
    tok.save(str(dir / "tokenizer.json"))
    (dir / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "PreTrainedTokenizerFast",
                "bos_token": SPECIALS[1],
                "eos_token": SPECIALS[7],
                "pad_token": SPECIALS[0],
                "model_max_length": 4096,
            }
        )
    )


@torch.no_grad()
def _prefer_audio_start(model: torch.nn.Module) -> None:
    """Make hidden dim 0 carry only the input token's embedding, and the text head read only dim 0.

    Layers write nothing into dim 0, so there it holds the current token's embedding, which is
    positive for every text token; <|audio_start|> has the largest value, so it wins the argmax.
    """
    lfm = model.lfm
    for layer in lfm.layers:
        for name, param in layer.named_parameters():
            if name.endswith(("out_proj.weight", "w2.weight")):
                param[0].zero_()
    emb = lfm.embed_tokens.weight
    emb[:, 0] = 0.01
    emb[AUDIO_START, 0] = 1.0
    lfm.embedding_norm.weight.zero_()
    lfm.embedding_norm.weight[0] = 1.0


def _write_detokenizer(dir: Path) -> None:
    from liquid_audio.detokenizer import LFM2AudioDetokenizer
    from transformers import Lfm2Config

    dir.mkdir(parents=True, exist_ok=True)
    (dir / "config.json").write_text(json.dumps(DETOKENIZER, indent=2))
    config = Lfm2Config(**{**DETOKENIZER, "layer_types": ["conv", "full_attention"]})
    detok = LFM2AudioDetokenizer(config).eval()
    # istft.window is a view into a larger tensor, which safetensors refuses to save as is
    state = {k: v.clone() for k, v in detok.state_dict().items()}
    save_file(state, str(dir / "model.safetensors"), metadata={"format": "pt"})
