from core.data import formats
from core.explain.names import feature_label


def test_face_and_audio_names_get_their_meaning():
    assert feature_label("AU04_r") == "AU04_r brow lowerer (intensity)"
    assert feature_label("AU12_c") == "AU12_c lip corner puller (smile) (present)"
    assert feature_label("Rx") == "Rx head pitch"
    assert feature_label("y_h1") == "y_h1 gaze y, eye 1 (head frame)"
    assert feature_label("x36") == "x36 right eye x"
    assert feature_label("y67") == "y67 mouth y"
    assert feature_label("MCEP_0") == "MCEP_0 energy (cepstrum 0)"


def test_every_au_pose_and_gaze_column_is_described_and_unknown_names_pass_through():
    for name in (*formats.AU_COLUMNS, *formats.POSE_COLUMNS, *formats.GAZE_COLUMNS):
        assert feature_label(name) != name
    assert feature_label("x99") == "x99"
    assert feature_label("MCEP_99") == "MCEP_99"


def test_every_covarep_and_formant_column_says_what_it_measures():
    for name in (*formats.COVAREP_COLUMNS, *formats.FORMANT_COLUMNS):
        assert feature_label(name) != name, name
    assert feature_label("MCEP_5") == "MCEP_5 (mel-cepstral coefficient 5, spectral envelope)"
    assert feature_label("HMPDD_3") == "HMPDD_3 (phase distortion deviation 3, voice quality)"
    assert feature_label("F2") == "F2 formant 2 (vocal tract resonance)"
