// Everything made from a recording once it stops, in the order it is made. A new product is a new step here.
import { closeTracks } from './close-tracks.ts';
import { levelledMix } from './levelled-mix.ts';
import { mix } from './mix.ts';
import { mixChapters } from './mix-chapters.ts';
import { writeReceipt } from './receipt.ts';
import { reuseTags } from './reuse-tags.ts';
import type { AfterStopStep } from './step.ts';

export const AFTER_STOP_STEPS: readonly AfterStopStep[] = [closeTracks, mix, mixChapters, reuseTags, writeReceipt, levelledMix];

export type { AfterStopStep, LiveMixFinisher, MixFunction, StepContext, StopInput, StopProducts } from './step.ts';
