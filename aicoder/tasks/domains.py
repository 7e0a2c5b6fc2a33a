"""Domain and framework of a task, derived from its reference code.

Records carry neither, so they are read off the code: the pipeline task named in a
``pipeline("...")`` call, else the model and library classes it uses. Domains follow the
HuggingFace Hub's top-level groups (the ones AICoderEval reports by).
"""

from __future__ import annotations

import re

__all__ = ["DOMAINS", "canonical_domain", "classify"]

NLP = "Natural Language Processing"
CV = "Computer Vision"
AUDIO = "Audio"
MULTI = "Multimodal"
TABULAR = "Tabular"
RL = "Reinforcement Learning"
OTHER = "Other"
DOMAINS = (NLP, CV, AUDIO, MULTI, TABULAR, RL, OTHER)
_BY_LOWER = {d.lower(): d for d in DOMAINS}


def canonical_domain(text: str) -> str | None:
    """The domain ``text`` names (one of ``DOMAINS``, any case, spaces squeezed), or None:
    a list of several, an unknown name, or nothing."""
    return _BY_LOWER.get(" ".join(text.split()).strip(" .").lower())

_PIPELINE_TASKS = {
    NLP: ("text-classification", "sentiment-analysis", "question-answering",
          "zero-shot-classification", "token-classification", "ner", "text-generation",
          "text2text-generation", "summarization", "translation", "fill-mask", "conversational",
          "sentence-similarity", "table-question-answering"),
    CV: ("image-classification", "object-detection", "image-segmentation", "depth-estimation",
         "image-to-image", "video-classification", "unconditional-image-generation",
         "mask-generation", "zero-shot-object-detection", "keypoint-detection"),
    AUDIO: ("automatic-speech-recognition", "audio-classification", "text-to-speech",
            "text-to-audio", "voice-activity-detection", "audio-to-audio"),
    MULTI: ("image-to-text", "visual-question-answering", "vqa", "document-question-answering",
            "text-to-image", "text-to-video", "feature-extraction", "image-text-to-text",
            "zero-shot-image-classification", "zero-shot-audio-classification"),
}
_BY_PIPELINE = {task: domain for domain, tasks in _PIPELINE_TASKS.items() for task in tasks}
_PIPELINE_CALL = re.compile(r"""pipeline\(\s*(?:task\s*=\s*)?['"]([\w-]+)['"]""")

# Ordered: the first pattern that matches decides.
_CLASS_HINTS: tuple[tuple[str, str], ...] = (
    (r"gym\b|stable_baselines3|rl_zoo|sb3|\bAgent\b", RL),
    (r"joblib|sklearn|xgboost|lightgbm|TabularPredictor|pd\.read_csv", TABULAR),
    (r"Wav2Vec|Whisper|SpeechT5|Hubert|speechbrain|pyannote|espnet|torchaudio|librosa|"
     r"soundfile|Audio|Speech|Vocoder|Tacotron|FastSpeech", AUDIO),
    (r"StableDiffusion|DiffusionPipeline\.from_pretrained\([^)]*prompt|CLIP|Blip|"
     r"VisionEncoderDecoder|LayoutLM|Pix2Struct|ViLT|Donut|TextToVideo|Owl|GIT", MULTI),
    (r"ImageClassification|ObjectDetection|Segmentation|DepthEstimation|ImageProcessor|"
     r"FeatureExtractor\b|DDPM|DDIM|UNet2D|YOLO|Detr|Segformer|ViT|ConvNext|ResNet|PIL|cv2|"
     r"torchvision|Mask2Former|DPT|GLPN|VideoMAE", CV),
    (r"SequenceClassification|TokenClassification|QuestionAnswering|CausalLM|MaskedLM|"
     r"Seq2SeqLM|MultipleChoice|SentenceTransformer|Tokenizer|T5|Bart|Bert|GPT|Marian", NLP),
)

_FRAMEWORKS: tuple[tuple[str, str], ...] = (
    (r"\bdiffusers\b", "diffusers"),
    (r"\bsentence_transformers\b", "sentence-transformers"),
    (r"\btransformers\b", "transformers"),
    (r"\bspeechbrain\b", "speechbrain"),
    (r"\bespnet\w*\b", "espnet"),
    (r"\bpyannote\b", "pyannote"),
    (r"\btensorflow_hub\b|\btensorflow\b|\bkeras\b", "tensorflow"),
    (r"\bjoblib\b|\bsklearn\b", "scikit-learn"),
    (r"\btorch\b", "pytorch"),
    (r"\bnumpy\b", "numpy"),
)


def classify(imports: str, code: str) -> tuple[str, str]:
    """Return ``(domain, framework)`` for a task's imports and reference code."""
    text = imports + "\n" + code
    domain = OTHER
    for task in _PIPELINE_CALL.findall(text):
        key = "translation" if task.startswith("translation") else task
        if key in _BY_PIPELINE:
            domain = _BY_PIPELINE[key]
            break
    else:
        for pattern, hint in _CLASS_HINTS:
            if re.search(pattern, text):
                domain = hint
                break
    framework = next((name for pattern, name in _FRAMEWORKS
                      if re.search(rf"^\s*(?:from|import)\s+.*{pattern}", imports, re.MULTILINE)),
                     "python")
    return domain, framework
