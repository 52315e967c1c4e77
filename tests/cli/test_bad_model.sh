#!/usr/bin/env bash
# Broken model directories, made at test time from tests/fixtures/tiny-gpt2 by byte surgery with
# printf/head/tail/sed (no Python): each must make `poets logprob` fail with one error line that
# names the broken file, a non-zero exit status and no crash.
cd "$(dirname "$0")/../.." || exit 1
source tests/cli/lib.sh

SRC=tests/fixtures/tiny-gpt2
ST=$SRC/model.safetensors
# The safetensors layout: 8-byte little-endian header length N, N bytes of JSON header, data.
header_len=$(od -An -tu8 -N8 "$ST" | tr -d ' ')
tail -c +9 "$ST" | head -c "$header_len" >"$TMP/header.json"
tail -c +$((9 + header_len)) "$ST" >"$TMP/data.bin"
data_len=$(wc -c <"$TMP/data.bin")

# le64 N: N as 8 little-endian bytes on stdout.
le64() {
    local n=$1 i
    for i in 0 1 2 3 4 5 6 7; do
        printf "\\$(printf '%03o' $(((n >> (8 * i)) & 255)))"
    done
}

# fresh NAME: a copy of the fixture model in $TMP/NAME; prints the path.
fresh() {
    rm -rf "${TMP:?}/$1"
    cp -r "$SRC" "$TMP/$1"
    echo "$TMP/$1"
}

# with_header NAME SED_SCRIPT [DATA_FILE]: a model whose header is the fixture header edited by
# SED_SCRIPT (with a correct length prefix), followed by DATA_FILE (default: the original data).
with_header() {
    local d
    d=$(fresh "$1")
    sed -e "$2" "$TMP/header.json" >"$TMP/h.json"
    { le64 "$(wc -c <"$TMP/h.json")"; cat "$TMP/h.json" "${3:-$TMP/data.bin}"; } >"$d/model.safetensors"
    echo "$d"
}

logprob_fails() { # NAME FILE_PATTERN DIR
    expect_error "$1" "$2" "$POETS" logprob --model "$3" </dev/null
}

# Sanity: the rebuilt file with an unchanged header is byte-identical to the fixture, and loads.
d=$(with_header rebuilt '')
if cmp -s "$d/model.safetensors" "$ST" && echo MKT | "$POETS" logprob --model "$d" >/dev/null 2>&1; then
    ok bad_model_surgery_identity
else
    fail bad_model_surgery_identity "rebuilt model.safetensors differs from the fixture or does not load"
fi

# --- model.safetensors -----------------------------------------------------------------------
d=$(fresh truncated)
head -c $((8 + header_len + data_len / 2)) "$ST" >"$d/model.safetensors"
logprob_fails st_truncated_data model.safetensors "$d"

d=$(fresh truncated_header)
head -c 100 "$ST" >"$d/model.safetensors"
logprob_fails st_truncated_header model.safetensors "$d"

d=$(fresh tiny)
head -c 5 "$ST" >"$d/model.safetensors"
logprob_fails st_shorter_than_length model.safetensors "$d"

d=$(fresh empty)
: >"$d/model.safetensors"
logprob_fails st_empty model.safetensors "$d"

d=$(fresh huge_header_len)
{ le64 $((1 << 40)); tail -c +9 "$ST"; } >"$d/model.safetensors"
logprob_fails st_header_len_beyond_file model.safetensors "$d"

d=$(fresh zero_header_len)
{ le64 0; tail -c +9 "$ST"; } >"$d/model.safetensors"
logprob_fails st_header_len_zero model.safetensors "$d"

d=$(with_header malformed_json 's/"dtype":"F32"/"dtype":F32/')
logprob_fails st_malformed_json model.safetensors "$d"

d=$(with_header json_trailing_garbage 's/}}$/}}}/')
logprob_fails st_json_trailing_garbage model.safetensors "$d"

d=$(with_header header_not_object 's/.*/[1,2,3]/')
logprob_fails st_header_not_object model.safetensors "$d"

d=$(with_header offsets_beyond_data 's/"data_offsets":\[0,768\]/"data_offsets":[800000,800768]/')
logprob_fails st_offsets_out_of_bounds model.safetensors "$d"

d=$(with_header offsets_reversed 's/"data_offsets":\[0,768\]/"data_offsets":[768,0]/')
logprob_fails st_offsets_reversed model.safetensors "$d"

d=$(with_header offsets_negative 's/"data_offsets":\[0,768\]/"data_offsets":[-768,0]/')
logprob_fails st_offsets_negative model.safetensors "$d"

d=$(with_header offsets_fraction 's/"data_offsets":\[0,768\]/"data_offsets":[0,768.5]/')
logprob_fails st_offsets_fraction model.safetensors "$d"

# c_attn.weight [64,192] F32 is 49152 bytes: place it over the bias at [0,768] (same size).
d=$(with_header offsets_overlap 's/"data_offsets":\[768,49920\]/"data_offsets":[0,49152]/')
logprob_fails st_offsets_overlap model.safetensors "$d"

d=$(with_header shape_vs_bytes 's/"shape":\[192\],"data_offsets":\[0,768\]/"shape":[191],"data_offsets":[0,768]/')
logprob_fails st_dtype_shape_vs_bytes model.safetensors "$d"

d=$(with_header unknown_dtype '0,/"dtype":"F32"/s//"dtype":"F31"/')
logprob_fails st_unknown_dtype model.safetensors "$d"

d=$(with_header shape_overflow 's/"shape":\[192\],"data_offsets":\[0,768\]/"shape":[4294967296,4294967296,192],"data_offsets":[0,768]/')
logprob_fails st_shape_overflow model.safetensors "$d"

# transformer.wte.weight is the last tensor in the data: drop its entry and its bytes.
wte_start=$(grep -o '"transformer.wte.weight":{[^}]*"data_offsets":\[[0-9]*' "$TMP/header.json" | grep -o '[0-9]*$')
head -c "$wte_start" "$TMP/data.bin" >"$TMP/data_no_wte.bin"
d=$(with_header missing_tensor 's/,"transformer.wte.weight":{[^}]*}//' "$TMP/data_no_wte.bin")
logprob_fails st_missing_tensor model.safetensors "$d"

d=$(with_header renamed_tensor 's/"transformer.ln_f.bias"/"transformer.ln_f.bais"/')
logprob_fails st_renamed_tensor model.safetensors "$d"

d=$(fresh no_weights)
rm "$d/model.safetensors"
logprob_fails st_missing_file 'model.safetensors' "$d"

# --- config.json -----------------------------------------------------------------------------
# A wider n_embd than the weights: every tensor shape disagrees with the config.
d=$(fresh config_n_embd)
sed -i 's/"n_embd": 64/"n_embd": 128/' "$d/config.json"
logprob_fails config_n_embd_vs_weights 'model.safetensors|config.json' "$d"

d=$(fresh config_vocab)
sed -i 's/"vocab_size": 448/"vocab_size": 500/' "$d/config.json"
logprob_fails config_vocab_size_vs_weights 'model.safetensors|config.json|tokenizer.json' "$d"

d=$(fresh config_n_layer)
sed -i 's/"n_layer": 3/"n_layer": 4/' "$d/config.json"
logprob_fails config_n_layer_vs_weights 'model.safetensors|config.json' "$d"

d=$(fresh config_string_field)
sed -i 's/"n_embd": 64/"n_embd": "64"/' "$d/config.json"
logprob_fails config_wrong_field_type config.json "$d"

d=$(fresh config_model_type)
sed -i 's/"model_type": "gpt2"/"model_type": "bert"/' "$d/config.json"
logprob_fails config_wrong_model_type config.json "$d"

d=$(fresh config_heads)
sed -i 's/"n_head": 4/"n_head": 5/' "$d/config.json"
logprob_fails config_heads_not_dividing config.json "$d"

d=$(fresh config_malformed)
sed -i 's/"n_embd": 64,/"n_embd": 64,,/' "$d/config.json"
logprob_fails config_malformed_json config.json "$d"

d=$(fresh config_not_object)
echo '[64, 4, 3]' >"$d/config.json"
logprob_fails config_not_object config.json "$d"

d=$(fresh config_missing)
rm "$d/config.json"
logprob_fails config_missing config.json "$d"

# --- tokenizer.json --------------------------------------------------------------------------
d=$(fresh tok_wordpiece)
sed -i '0,/"type": "BPE"/s//"type": "WordPiece"/' "$d/tokenizer.json"
logprob_fails tokenizer_wordpiece tokenizer.json "$d"

d=$(fresh tok_missing)
rm "$d/tokenizer.json"
logprob_fails tokenizer_missing 'tokenizer.json|vocab.json' "$d"

d=$(fresh tok_truncated)
head -c 2000 "$SRC/tokenizer.json" >"$d/tokenizer.json"
logprob_fails tokenizer_truncated tokenizer.json "$d"

d=$(fresh tok_not_object)
echo '"BPE"' >"$d/tokenizer.json"
logprob_fails tokenizer_not_object tokenizer.json "$d"

# --- the model directory ---------------------------------------------------------------------
logprob_fails model_dir_missing "$TMP/nowhere" "$TMP/nowhere"
: >"$TMP/plain_file"
logprob_fails model_dir_is_file "$TMP/plain_file" "$TMP/plain_file"

finish
