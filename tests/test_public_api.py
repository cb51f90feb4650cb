import critica


def test_all_is_exactly_the_public_names():
    public = {n for n in dir(critica) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(critica, n)).__name__ == "module"}
    assert set(critica.__all__) == public - modules
    assert len(critica.__all__) == len(set(critica.__all__))


def test_import_is_light():
    import subprocess
    import sys

    code = "import sys, critica; bad = [m for m in ('llama_cpp', 'torch', 'ray', 'fastapi', 'sentence_transformers') if m in sys.modules]; print(bad)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
