// llm.c's GPT-2 training step timed on this machine, to set Swiftlet beside it.
//
// Not part of the build or the tests, and llm.c's code is not in this repository: this driver is
// compiled against a checkout of https://github.com/karpathy/llm.c (see llmc_speed.sh), includes
// its train_gpt2.c with TESTING defined (which leaves out llm.c's own main, as its test_gpt2.c
// does) and runs exactly the step of llm.c's training loop: gpt2_forward with targets,
// gpt2_zero_grad, gpt2_backward, gpt2_update (AdamW at lr 1e-4, no weight decay). The model is
// GPT-2 124M (vocabulary padded to 50,304) with uniform random weights in ±0.02, written once in
// llm.c's checkpoint format (header 20240326, version 3), and the tokens are random: the step's
// cost does not depend on either. llm.c has no gradient clipping; Swiftlet's step clips.
//
//     llmc_step CHECKPOINT B T STEPS    prints "step N: loss L took X ms" per step
#define TESTING
#include "train_gpt2.c"

static double seconds_now(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec * 1e-9;
}

// 64-bit LCG: all this driver needs is values that are not all alike.
static uint64_t next_random(uint64_t *state) {
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    return *state >> 33;
}

// Written under a temporary name and renamed, so an interrupted run leaves no truncated checkpoint.
static void write_random_checkpoint(const char *path) {
    enum { MAX_T = 1024, VOCABULARY = 50257, LAYERS = 12, HEADS = 12, CHANNELS = 768, PADDED = 50304 };
    int header[256] = {20240326, 3, MAX_T, VOCABULARY, LAYERS, HEADS, CHANNELS, PADDED};
    // wte, wpe, per layer (12·C² + 13·C: the four weights, biases and two LayerNorms), lnf
    const size_t count = (size_t)PADDED * CHANNELS + (size_t)MAX_T * CHANNELS +
                         (size_t)LAYERS * (12 * CHANNELS * CHANNELS + 13 * CHANNELS) + 2 * CHANNELS;
    float *weights = mallocCheck(count * sizeof(float));
    uint64_t state = 1;
    for (size_t i = 0; i < count; i++)
        weights[i] = ((float)(next_random(&state) & 0xFFFFFF) / 16777216.0f - 0.5f) * 0.04f;
    char temporary[4096];
    snprintf(temporary, sizeof temporary, "%s.partial", path);
    FILE *file = fopenCheck(temporary, "wb");
    const int written = fwrite(header, sizeof(int), 256, file) == 256 &&
                        fwrite(weights, sizeof(float), count, file) == count;
    if (fclose(file) != 0 || !written || rename(temporary, path) != 0) {
        fprintf(stderr, "could not write %s\n", path);
        exit(1);
    }
    free(weights);
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s CHECKPOINT B T STEPS\n", argv[0]);
        return 2;
    }
    const char *checkpoint = argv[1];
    const int B = atoi(argv[2]), T = atoi(argv[3]), steps = atoi(argv[4]);
    if (access(checkpoint, F_OK) != 0) write_random_checkpoint(checkpoint);
    GPT2 model;
    gpt2_build_from_checkpoint(&model, checkpoint);
    int *tokens = mallocCheck(sizeof(int) * (size_t)(B * T + 1));
    uint64_t state = 7;
    for (int i = 0; i <= B * T; i++) tokens[i] = (int)(next_random(&state) % 50257);
    for (int step = 0; step < steps; step++) {
        const double start = seconds_now();
        gpt2_forward(&model, tokens, tokens + 1, B, T);
        gpt2_zero_grad(&model);
        gpt2_backward(&model);
        gpt2_update(&model, 1e-4f, 0.9f, 0.999f, 1e-8f, 0.0f, step + 1);
        printf("step %d: loss %f took %.1f ms\n", step, model.mean_loss, (seconds_now() - start) * 1e3);
        fflush(stdout);
    }
    gpt2_free(&model);
    free(tokens);
    return 0;
}
